/** The login advice used wherever a token is missing or rejected. */
export function loginHint(server: string): string {
  return `log in with: rune login --server ${server} --token-file <data-dir>/admin.token (runed writes that file on its first start), or pass --token / set RUNE_TOKEN`;
}
