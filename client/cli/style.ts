/**
 * Terminal colour: on only when the flag allows it (`--no-color` turns it off), NO_COLOR is
 * unset (https://no-color.org) and the stream is a terminal.
 */
export function useColor(flag: boolean | undefined, stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return flag !== false && !env.NO_COLOR && stream.isTTY === true;
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, bold: 1, dim: 2 } as const;
export type Colour = keyof typeof CODES;

/** `text` wrapped in the ANSI codes for `colour` when `on`, else unchanged. */
export function paint(on: boolean, colour: Colour, text: string): string {
  return on ? `\x1b[${CODES[colour]}m${text}\x1b[0m` : text;
}
