// Parses the `#define` constants of the PKCS#11 header (pkcs11t.h) and evaluates their C
// expressions as 32-bit CK_ULONG values. Pure functions, so the tests run without the header.

/** Names we export: every CK?_ constant and the CRYPTOKI_VERSION_* numbers. */
export const EXPORTED_NAME = /^(?:CK[A-Z]?_|CRYPTOKI_VERSION_)[A-Z0-9_]+$/;

const ULONG_MASK = 0xffffffffn;

export class HeaderParseError extends Error {
  constructor(message) {
    super(message);
    this.name = 'HeaderParseError';
  }
}

/** Splits a C constant expression into tokens: numbers (with U/L suffixes), names, operators. */
export function tokenize(expression) {
  const tokens = [];
  const pattern = /\s*(?:(0[xX][0-9a-fA-F]+|\d+)[uUlL]*|([A-Za-z_][A-Za-z0-9_]*)|(<<|>>|[()|&^~+\-*]))/y;
  let index = 0;
  while (index < expression.length) {
    if (/^\s*$/.test(expression.slice(index))) break;
    pattern.lastIndex = index;
    const match = pattern.exec(expression);
    if (!match) {
      throw new HeaderParseError(`unexpected character in "${expression}" at offset ${index}`);
    }
    index = pattern.lastIndex;
    if (match[1] !== undefined) {
      const literal = match[1];
      // C reads a leading 0 as octal; the header only uses it for the digit 0 itself.
      const value = /^0[0-7]+$/.test(literal) ? BigInt(`0o${literal.slice(1)}`) : BigInt(literal);
      tokens.push({ kind: 'number', value });
    } else if (match[2] !== undefined) {
      tokens.push({ kind: 'name', name: match[2] });
    } else {
      tokens.push({ kind: 'operator', operator: match[3] });
    }
  }
  return tokens;
}

// Binary operators from loosest to tightest, as in C.
const BINARY_LEVELS = [['|'], ['^'], ['&'], ['<<', '>>'], ['+', '-'], ['*']];

/**
 * Evaluates a C constant expression. `lookup(name)` resolves references to other defines
 * (and returns undefined for unknown names). The result is a CK_ULONG: a non-negative integer
 * below 2^32, so `~0UL` is 0xFFFFFFFF.
 */
export function evaluateExpression(expression, lookup = () => undefined) {
  const tokens = tokenize(expression);
  if (tokens.length === 0) throw new HeaderParseError('empty expression');
  let position = 0;
  const peekOperator = () => {
    const token = tokens[position];
    return token?.kind === 'operator' ? token.operator : undefined;
  };

  const parseBinary = (level) => {
    if (level === BINARY_LEVELS.length) return parseUnary();
    let left = parseBinary(level + 1);
    for (let op = peekOperator(); op !== undefined && BINARY_LEVELS[level].includes(op); op = peekOperator()) {
      position += 1;
      const right = parseBinary(level + 1);
      left = applyBinary(op, left, right) & ULONG_MASK;
    }
    return left;
  };

  const parseUnary = () => {
    const op = peekOperator();
    if (op === '~' || op === '-' || op === '+') {
      position += 1;
      const operand = parseUnary();
      if (op === '~') return ~operand & ULONG_MASK;
      if (op === '-') return -operand & ULONG_MASK;
      return operand;
    }
    return parsePrimary();
  };

  const parsePrimary = () => {
    const token = tokens[position];
    position += 1;
    if (token === undefined) throw new HeaderParseError(`unexpected end of "${expression}"`);
    if (token.kind === 'number') return token.value & ULONG_MASK;
    if (token.kind === 'name') {
      const value = lookup(token.name);
      if (value === undefined) throw new HeaderParseError(`unknown name ${token.name} in "${expression}"`);
      return BigInt(value);
    }
    if (token.operator === '(') {
      const value = parseBinary(0);
      if (peekOperator() !== ')') throw new HeaderParseError(`missing ")" in "${expression}"`);
      position += 1;
      return value;
    }
    throw new HeaderParseError(`unexpected "${token.operator}" in "${expression}"`);
  };

  const result = parseBinary(0);
  if (position !== tokens.length) throw new HeaderParseError(`trailing tokens in "${expression}"`);
  return Number(result);
}

function applyBinary(op, left, right) {
  switch (op) {
    case '|': return left | right;
    case '^': return left ^ right;
    case '&': return left & right;
    case '<<': return left << right;
    case '>>': return left >> right;
    case '+': return left + right;
    case '-': return left - right;
    default: return left * right;
  }
}

/**
 * Reads every exported `#define` of a header, in header order.
 * Returns `{ name, value, deprecated, alias }` entries: `deprecated` when the line's comment says
 * so, `alias` when the define is just another name (e.g. CKA_SUB_PRIME_BITS).
 */
export function parseDefines(text) {
  const defines = [];
  const values = new Map();
  for (const rawLine of text.split(/\r?\n/)) {
    const match = /^\s*#\s*define\s+([A-Za-z_][A-Za-z0-9_]*)(?=\s)(.*)$/.exec(rawLine);
    if (!match) continue;
    const name = match[1];
    let body = match[2];
    const comments = [];
    body = body.replace(/\/\*(.*?)\*\//g, (_, comment) => {
      comments.push(comment);
      return ' ';
    });
    body = body.replace(/\/\/(.*)$/, (_, comment) => {
      comments.push(comment);
      return ' ';
    });
    const expression = body.trim();
    if (!EXPORTED_NAME.test(name) || expression === '') continue;
    const value = evaluateExpression(expression, (ref) => values.get(ref));
    values.set(name, value);
    defines.push({
      name,
      value,
      deprecated: comments.some((comment) => /deprecated/i.test(comment)),
      alias: /^[A-Za-z_][A-Za-z0-9_]*$/.test(expression),
    });
  }
  return defines;
}

/** The name groups with a reverse lookup table: enumerations (and CKF flags) by prefix. */
export function nameGroup(name) {
  const group = /^(CK[A-Z])_/.exec(name)?.[1];
  return group;
}

/**
 * For each group and value, the names in order of preference: non-deprecated before deprecated,
 * real definitions before aliases, later definitions (the newer spec name) before earlier ones.
 */
export function buildNameTable(defines) {
  const table = new Map();
  defines.forEach((define, order) => {
    const group = nameGroup(define.name);
    if (group === undefined) return;
    let byValue = table.get(group);
    if (byValue === undefined) {
      byValue = new Map();
      table.set(group, byValue);
    }
    const entries = byValue.get(define.value) ?? [];
    entries.push({ ...define, order });
    byValue.set(define.value, entries);
  });
  const result = new Map();
  for (const [group, byValue] of table) {
    const sorted = new Map();
    for (const [value, entries] of [...byValue].sort((a, b) => a[0] - b[0])) {
      entries.sort(
        (a, b) =>
          Number(a.deprecated) - Number(b.deprecated) ||
          Number(a.alias) - Number(b.alias) ||
          b.order - a.order,
      );
      sorted.set(value, entries.map((entry) => entry.name));
    }
    result.set(group, sorted);
  }
  return result;
}

export function hex32(value) {
  return `0x${value.toString(16).toUpperCase().padStart(8, '0')}`;
}

const GENERATED_BY = (command) =>
  `// Generated by \`${command}\` from the OASIS PKCS#11 v3.0 header (pkcs11t.h).\n` +
  '// Do not edit: change the generator and run it again.\n';

/** Source of src/constants.ts. */
export function renderConstants(defines, command) {
  const canonical = new Map();
  for (const [, byValue] of buildNameTable(defines)) {
    for (const [, names] of byValue) for (const name of names) canonical.set(name, names[0]);
  }
  const lines = [GENERATED_BY(command)];
  for (const define of defines) {
    if (define.deprecated) {
      const replacement = canonical.get(define.name);
      const hint = replacement !== undefined && replacement !== define.name ? ` Use ${replacement}.` : '';
      lines.push(`/** @deprecated Deprecated by the PKCS#11 header.${hint} */`);
    }
    lines.push(`export const ${define.name} = ${hex32(define.value)};`);
  }
  return `${lines.join('\n')}\n`;
}

/** Source of src/names.generated.ts. */
export function renderNames(defines, command) {
  const lines = [
    GENERATED_BY(command),
    '/** Per group (CKA, CKM, CKR, …) and value: the spec names, canonical first. */',
    'export const NAME_TABLE: {',
    '  readonly [group: string]: { readonly [value: number]: readonly string[] };',
    '} = {',
  ];
  for (const [group, byValue] of buildNameTable(defines)) {
    lines.push(`  ${group}: {`);
    for (const [value, names] of byValue) {
      lines.push(`    ${hex32(value)}: [${names.map((name) => `'${name}'`).join(', ')}],`);
    }
    lines.push('  },');
  }
  lines.push('};');
  return `${lines.join('\n')}\n`;
}
