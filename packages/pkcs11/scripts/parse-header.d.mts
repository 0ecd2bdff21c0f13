// Types for parse-header.mjs (plain JS so the generator runs with bare Node).
export declare const EXPORTED_NAME: RegExp;

export declare class HeaderParseError extends Error {}

export interface HeaderDefine {
  name: string;
  value: number;
  deprecated: boolean;
  alias: boolean;
}

export type Token =
  | { kind: 'number'; value: bigint }
  | { kind: 'name'; name: string }
  | { kind: 'operator'; operator: string };

export declare function tokenize(expression: string): Token[];
export declare function evaluateExpression(
  expression: string,
  lookup?: (name: string) => number | undefined,
): number;
export declare function parseDefines(text: string): HeaderDefine[];
export declare function nameGroup(name: string): string | undefined;
export declare function buildNameTable(defines: HeaderDefine[]): Map<string, Map<number, string[]>>;
export declare function hex32(value: number): string;
export declare function renderConstants(defines: HeaderDefine[], command: string): string;
export declare function renderNames(defines: HeaderDefine[], command: string): string;
