/**
 * `${NAME}` expansion for secret documents in cast files, done by the CLI before anything is
 * sent (runed never sees the variables): `password: ${DB_PASSWORD}`. `$$` stands for a literal
 * `$`; a `$` not followed by `{` or `$` is kept as it is. An unset variable is an error naming
 * it; an empty one expands to ''. Messages name variables, never their values.
 */

export type EnvLookup = Readonly<Record<string, string | undefined>>;

const PATTERN = /\$\$|\$\{([^}]*)\}|\$\{/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `text` with every `${NAME}` replaced from `env`, or the problem with the first bad one. */
export function expandEnv(text: string, env: EnvLookup): { value?: string; problem?: string } {
  let problem: string | undefined;
  const value = text.replace(PATTERN, (match, name: string | undefined) => {
    if (problem !== undefined) return '';
    if (match === '$$') return '$';
    if (name === undefined) {
      problem = '"${" is not closed with "}"; write $$ for a literal "$"';
      return '';
    }
    if (!NAME.test(name)) {
      problem = `"\${${name}}" is not a variable name (letters, digits and "_", not starting with a digit); write $$ for a literal "$"`;
      return '';
    }
    const found = env[name];
    if (found === undefined) {
      problem = `environment variable ${name} is not set (used as \${${name}}); export it, or write $\${${name}} for the literal text`;
      return '';
    }
    return found;
  });
  return problem === undefined ? { value } : { problem };
}
