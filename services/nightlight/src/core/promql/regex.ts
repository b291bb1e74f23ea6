/**
 * Compiles a Prometheus (RE2) regular expression into a fully anchored JavaScript RegExp.
 * RE2 syntax JavaScript (Node 20) lacks is translated: flag groups `(?i)`, `(?i:…)`, `(?s)`,
 * `(?-i)`, named groups `(?P<name>…)`, `\z`, `\A` and POSIX classes like `[[:alpha:]]`.
 */
export function compileAnchoredRegex(source: string): RegExp {
  let translated: string;
  try {
    translated = translateRe2(source);
    return new RegExp('^(?:' + translated + ')$');
  } catch (err) {
    throw new Error(`invalid regular expression ${JSON.stringify(source)}: ${(err as Error).message}`);
  }
}

interface Flags {
  i: boolean;
  s: boolean;
}

function otherCase(c: string): string {
  const u = c.toUpperCase();
  return u !== c ? u : c.toLowerCase();
}

function isLetter(c: string): boolean {
  return c.toLowerCase() !== c.toUpperCase();
}

/** Translates RE2 syntax to JavaScript syntax, expanding case-insensitive parts into classes. */
function translateRe2(src: string): string {
  let out = '';
  const stack: Flags[] = [];
  let flags: Flags = { i: false, s: false };
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) throw new Error('trailing backslash');
      if (n === 'z') out += '$';
      else if (n === 'A') out += '^';
      else if (n === 'Q') {
        const end = src.indexOf('\\E', i + 2);
        const lit = end < 0 ? src.slice(i + 2) : src.slice(i + 2, end);
        out += lit.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
        i = end < 0 ? src.length : end + 2;
        continue;
      } else out += c + n;
      i += 2;
      continue;
    }
    if (c === '[') {
      const [cls, next] = translateClass(src, i, flags.i);
      out += cls;
      i = next;
      continue;
    }
    if (c === '(') {
      const flagMatch = /^\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])/.exec(src.slice(i));
      if (flagMatch && (flagMatch[1] !== '' || flagMatch[2] !== undefined)) {
        const next: Flags = { ...flags };
        for (const f of flagMatch[1] ?? '') {
          if (f === 'i') next.i = true;
          else if (f === 's') next.s = true;
          else if (f !== 'm' && f !== 'U') throw new Error(`unsupported flag ${f}`);
        }
        for (const f of flagMatch[2] ?? '') {
          if (f === 'i') next.i = false;
          else if (f === 's') next.s = false;
        }
        if (flagMatch[3] === ')') {
          flags = next; // applies to the rest of the enclosing group
        } else {
          stack.push(flags);
          flags = next;
          out += '(?:';
        }
        i += flagMatch[0].length;
        continue;
      }
      if (src.startsWith('(?P<', i)) {
        stack.push(flags);
        out += '(?<';
        i += 4;
        continue;
      }
      stack.push(flags);
      out += c;
      i++;
      continue;
    }
    if (c === ')') {
      flags = stack.pop() ?? flags;
      out += c;
      i++;
      continue;
    }
    if (c === '.' && flags.s) {
      out += '[\\s\\S]';
      i++;
      continue;
    }
    if (flags.i && isLetter(c) && otherCase(c) !== c) {
      out += `[${c}${otherCase(c)}]`;
      i++;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

const POSIX: Record<string, string> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  space: '\\s',
  upper: 'A-Z',
  lower: 'a-z',
  punct: '!-\\/:-@\\[-`{-~',
  xdigit: '0-9a-fA-F',
  word: '\\w',
  blank: ' \\t',
  cntrl: '\\x00-\\x1f\\x7f',
  print: ' -~',
  graph: '!-~',
  ascii: '\\x00-\\x7f',
};

/** Translates one character class starting at src[start] === '['; returns it and the index after. */
function translateClass(src: string, start: number, ci: boolean): [string, number] {
  let i = start + 1;
  let out = '[';
  let extra = '';
  if (src[i] === '^') {
    out += '^';
    i++;
  }
  let first = true;
  while (i < src.length) {
    const c = src[i] as string;
    if (c === ']' && !first) {
      return [out + extra + ']', i + 1];
    }
    first = false;
    const posix = /^\[:(\^?)([a-z]+):\]/.exec(src.slice(i));
    if (posix) {
      const cls = POSIX[posix[2] as string];
      if (cls === undefined || posix[1] === '^') throw new Error(`unsupported class ${posix[0]}`);
      out += cls;
      i += posix[0].length;
      continue;
    }
    if (c === '\\') {
      out += c + (src[i + 1] ?? '');
      i += 2;
      continue;
    }
    if (c === '[') {
      out += '\\[';
      i++;
      continue;
    }
    if (ci && isLetter(c)) {
      if (
        src[i + 1] === '-' &&
        src[i + 2] !== undefined &&
        src[i + 2] !== ']' &&
        isLetter(src[i + 2] as string)
      ) {
        const end = src[i + 2] as string;
        out += `${c}-${end}`;
        extra += `${otherCase(c)}-${otherCase(end)}`;
        i += 3;
        continue;
      }
      out += c;
      extra += otherCase(c);
      i++;
      continue;
    }
    out += c;
    i++;
  }
  throw new Error('missing closing ]');
}

/**
 * Expands a replacement template the way Go's regexp.Expand does: `$1`, `${1}`, `$name`, `${name}`,
 * `$$`. A name is the longest run of letters, digits and underscores (so `$1x` means group `1x`).
 */
export function expandTemplate(template: string, match: RegExpExecArray): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i] as string;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = template[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    let name = '';
    let end = i + 1;
    if (next === '{') {
      const close = template.indexOf('}', i + 2);
      const inner = close < 0 ? '' : template.slice(i + 2, close);
      if (close < 0 || !/^[A-Za-z0-9_]+$/.test(inner)) {
        out += '$';
        i++;
        continue;
      }
      name = inner;
      end = close + 1;
    } else {
      const m = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1));
      if (!m) {
        out += '$';
        i++;
        continue;
      }
      name = m[0];
      end = i + 1 + name.length;
    }
    if (/^\d+$/.test(name)) {
      out += match[Number(name)] ?? '';
    } else {
      out += match.groups?.[name] ?? '';
    }
    i = end;
  }
  return out;
}
