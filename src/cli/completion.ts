// Why: `nsdump completion bash|zsh`: a completion script made from the option table, so it knows
// every command, option and choice the parser does, and nothing it does not.
import { COMMANDS, GLOBAL_OPTIONS, type OptionDef, type ValueKind } from './options.js';

const visible = (os: OptionDef[]) => os.filter((o) => !o.hidden);
const words = (o: OptionDef) => [...(o.short ? [`-${o.short}`] : []), `--${o.name}`, ...(o.negatable ? [`--no-${o.name}`] : [])];
const names = COMMANDS.map((c) => c.name);

/** bash: what compgen offers for a value of this kind. */
function bashValues(kind: ValueKind | undefined, choices?: readonly string[]): string {
  switch (kind) {
    case 'dir':
      return 'COMPREPLY=($(compgen -d -- "$cur"))';
    case 'file':
      return 'COMPREPLY=($(compgen -f -- "$cur"))';
    case 'pid':
      return 'COMPREPLY=($(cd /proc && compgen -W "$(echo [0-9]*)" -- "$cur"))';
    case 'command':
      return `COMPREPLY=($(compgen -W "${names.join(' ')}" -- "$cur"))`;
    case 'choice':
    case 'shell':
      return `COMPREPLY=($(compgen -W "${choices!.join(' ')}" -- "$cur"))`;
    default:
      return 'COMPREPLY=()';
  }
}

function bash(): string {
  const valueCases: string[] = [];
  const optionCases: string[] = [];
  const argCases: string[] = [];
  for (const c of COMMANDS) {
    const opts = visible(c.options);
    for (const o of opts.filter((x) => x.arg)) valueCases.push(`    ${words(o).map((w) => `${c.name}:${w}`).join('|')}) ${bashValues(o.kind, o.choices)}; return ;;`);
    optionCases.push(`    ${c.name}) opts="${[...opts.flatMap(words), '-h', '--help'].join(' ')}" ;;`);
    const pos = c.positionals.filter((p) => !p.variadic);
    if (pos.length) {
      const arms = pos.map((p, i) => `${i + 1}) ${bashValues(p.kind, p.choices)} ;;`).join(' ');
      argCases.push(`    ${c.name}) case $n in ${arms} esac ;;`);
    }
  }
  return `# bash completion for nsdump: source this file, or install it as
# /usr/share/bash-completion/completions/nsdump (made by nsdump completion bash)
_nsdump() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmd='' opts='' n=0 i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    if [[ -z $cmd ]]; then
      [[ $w == -* ]] || cmd=$w
    elif [[ $w == -- ]]; then
      return
    elif [[ $w != -* ]]; then
      case "$cmd:\${COMP_WORDS[i-1]}" in
${valueCases.map((l) => `  ${l.replace(/\) .*$/, ') ;;')}`).join('\n')}
      *) n=$((n + 1)) ;;
      esac
    fi
  done
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "${[...names, ...GLOBAL_OPTIONS.flatMap(words)].join(' ')}" -- "$cur"))
    return
  fi
  case "$cmd:$prev" in
${valueCases.join('\n')}
  esac
  if [[ $cur == -* ]]; then
    case $cmd in
${optionCases.join('\n')}
    esac
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return
  fi
  n=$((n + 1))
  case $cmd in
${argCases.join('\n')}
  esac
}
complete -F _nsdump nsdump
`;
}

/** zsh: text inside '…' and an _arguments [description]. */
const zq = (s: string) => s.replace(/'/g, `'\\''`).replace(/([[\]:])/g, '\\$1');

function zshAction(kind: ValueKind | undefined, choices?: readonly string[]): string {
  switch (kind) {
    case 'dir':
      return '_files -/';
    case 'file':
      return '_files';
    case 'pid':
      return '_pids';
    case 'command':
      return `(${names.join(' ')})`;
    case 'choice':
    case 'shell':
      return `(${choices!.join(' ')})`;
    default:
      return ' ';
  }
}

/** The first clause of a description: what fits in a completion menu. */
const brief = (s: string) => s.split(/[;(]/)[0]!.trim();

function zsh(): string {
  const arms = COMMANDS.map((c) => {
    const specs: string[] = [];
    for (const o of visible(c.options)) {
      const excl = words(o).length > 1 ? `'(${words(o).join(' ')})'` : '';
      const names = words(o).filter((w) => !w.startsWith('--no-'));
      const list = names.length > 1 ? `{${names.join(',')}}` : names[0]!;
      const value = o.arg ? `:${zq(o.arg)}:${zshAction(o.kind, o.choices)}` : '';
      // A repeatable option stays on offer ('*'); others exclude their own other spelling.
      specs.push(o.repeatable ? `'*--${o.name}[${zq(brief(o.describe))}]${value}'` : `${excl}${list}'[${zq(brief(o.describe))}]${value}'`);
      if (o.negatable) specs.push(`'--no-${o.name}[${zq(brief(o.describe))}]'`);
    }
    specs.push(`'(-h --help)'{-h,--help}'[show the help]'`);
    c.positionals.forEach((p, i) => {
      specs.push(p.variadic ? `'*:${zq(p.name)}:_normal'` : `'${p.optional ? ':' : ''}${i + 1}:${zq(p.name)}:${zshAction(p.kind, p.choices)}'`);
    });
    return `      ${c.name})\n        _arguments -s \\\n          ${specs.join(' \\\n          ')}\n        ;;`;
  });
  return `#compdef nsdump
# zsh completion for nsdump: put this file as _nsdump in a directory of $fpath
# (made by nsdump completion zsh)
_nsdump() {
  local -a commands
  commands=(
${COMMANDS.map((c) => `    '${c.name}:${zq(brief(c.summary))}'`).join('\n')}
  )
  local curcontext=$curcontext state line
  _arguments -C \\
    '(- *)'{-h,--help}'[show the help]' \\
    '(- *)'{-V,--version}'[print the version]' \\
    '1: :->command' \\
    '*:: :->args'
  case $state in
    command) _describe -t commands 'nsdump command' commands ;;
    args)
      case $words[1] in
${arms.join('\n')}
      esac
      ;;
  esac
}
_nsdump "$@"
`;
}

export function completionScript(shell: string): string {
  return shell === 'zsh' ? zsh() : bash();
}
