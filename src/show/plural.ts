// Why: "1 process", "2 processes": shared by the dump summary and the tree (dump must not load the tree).
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;
