/**
 * Request validation with the same TypeBox schemas that document the API.
 *
 * Why not fastify's default (Ajv with `coerceTypes`)? It would turn `{"value": 123}` into
 * `{"value": "123"}` in bodies, hiding a type error from the caller. Here bodies are checked as sent;
 * only querystring/params/headers (always strings on the wire) are converted, and only when the
 * string is an exact rendering of the expected number or boolean (`limit=5.5` stays an error).
 * The first failure becomes a `ValidationError` with `details: {field, constraint, location}`.
 */
import { isIP } from 'node:net';
import { FormatRegistry, Kind } from '@sinclair/typebox';
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import type { ValueError } from '@sinclair/typebox/value';
import { ValidationError } from '@photoncloud/errors';
import type { FastifySchemaCompiler } from 'fastify';

/** Where a failing value was found, as OpenAPI names parameter locations. */
export type FieldLocation = 'body' | 'query' | 'path' | 'header';

const LOCATION: Record<string, FieldLocation> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'header',
};

// Formats services use in their schemas. TypeBox rejects a string whose format it does not know, so
// every format a schema may name must be registered once, here.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const HOSTNAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

function validCidr(s: string, family: 4 | 6 | 0): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const ip = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits)) return false;
  const v = isIP(ip);
  if (v === 0 || (family !== 0 && v !== family)) return false;
  return Number(bits) <= (v === 4 ? 32 : 128);
}

function registerFormats(): void {
  const formats: Record<string, (s: string) => boolean> = {
    'date-time': (s) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)),
    date: (s) => DATE.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`)),
    uuid: (s) => UUID.test(s),
    email: (s) => EMAIL.test(s),
    hostname: (s) => HOSTNAME.test(s),
    ipv4: (s) => isIP(s) === 4,
    ipv6: (s) => isIP(s) === 6,
    ip: (s) => isIP(s) !== 0,
    cidr: (s) => validCidr(s, 0),
    'ipv4-cidr': (s) => validCidr(s, 4),
    'ipv6-cidr': (s) => validCidr(s, 6),
    uri: (s) => {
      try {
        return new URL(s).protocol.length > 1;
      } catch {
        return false;
      }
    },
  };
  for (const [name, check] of Object.entries(formats)) {
    if (!FormatRegistry.Has(name)) FormatRegistry.Set(name, check);
  }
}
registerFormats();

const INTEGER = /^-?\d+$/;
const NUMBER = /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Convert one wire string to what a scalar schema expects, when the string renders it exactly. */
function convertScalar(schema: TSchema, v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const kind = schema[Kind];
  if (kind === 'Integer' && INTEGER.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v;
  }
  if (kind === 'Number' && NUMBER.test(v)) return Number(v);
  if (kind === 'Boolean') {
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
  }
  return v;
}

/** Convert the properties of a flat object (querystring, params, headers) to the schema's scalar types. */
function convertFlat(schema: TSchema, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const props = (schema as { properties?: Record<string, TSchema> }).properties;
  if (props === undefined) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [name, prop] of Object.entries(props)) {
    const v = out[name];
    if (v === undefined) continue;
    const propKind = prop[Kind];
    if (propKind === 'Array') {
      const items = (prop as { items?: TSchema }).items;
      const arr = Array.isArray(v) ? v : [v];
      out[name] = items === undefined ? arr : arr.map((x) => convertScalar(items, x));
    } else {
      out[name] = convertScalar(prop, v);
    }
  }
  return out;
}

/** `/a/0/b` (JSON pointer) → `a.0.b`. */
function fieldFromPath(path: string): string {
  return path
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

function describeType(schema: TSchema): string {
  const t = (schema as { type?: unknown }).type;
  switch (t) {
    case 'string':
      return 'a string';
    case 'integer':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'an object';
    case 'array':
      return 'an array';
    case 'null':
      return 'null';
    default:
      return 'of the documented type';
  }
}

/** Turn TypeBox's first error into our `ValidationError` (field + JSON Schema keyword). */
export function toValidationError(err: ValueError, httpPart: string): ValidationError {
  const location = LOCATION[httpPart] ?? 'body';
  const s = err.schema as Record<string, unknown> & TSchema;
  const wholePart = err.path === '';
  const field = wholePart ? location : fieldFromPath(err.path);
  const mk = (constraint: string, message: string, extra: Record<string, unknown> = {}) =>
    new ValidationError(field, constraint, message, { details: { location, ...extra } });

  if (wholePart && httpPart === 'body' && (err.value === null || err.value === undefined)) {
    return new ValidationError('body', 'required', 'Request body is required (a JSON object)', {
      details: { location },
      hint: 'Send a JSON body with "Content-Type: application/json"',
    });
  }
  switch (err.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return mk('required', `${field} is required`);
    case ValueErrorType.ObjectAdditionalProperties:
      return mk('additionalProperties', `${field} is not a known field`);
    case ValueErrorType.StringMaxLength:
      return mk('maxLength', `${field} must be at most ${String(s['maxLength'])} characters`, {
        limit: s['maxLength'],
      });
    case ValueErrorType.StringMinLength:
      return s['minLength'] === 1
        ? mk('minLength', `${field} must not be empty`, { limit: 1 })
        : mk('minLength', `${field} must be at least ${String(s['minLength'])} characters`, {
            limit: s['minLength'],
          });
    case ValueErrorType.StringPattern:
      return mk('pattern', `${field} must match ${String(s['pattern'])}`, { pattern: s['pattern'] });
    case ValueErrorType.StringFormat:
    case ValueErrorType.StringFormatUnknown:
      return mk('format', `${field} must be a valid ${String(s['format'])}`, { format: s['format'] });
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum:
      return mk('maximum', `${field} must be at most ${String(s['maximum'])}`, { limit: s['maximum'] });
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum:
      return mk('minimum', `${field} must be at least ${String(s['minimum'])}`, { limit: s['minimum'] });
    case ValueErrorType.IntegerExclusiveMaximum:
    case ValueErrorType.NumberExclusiveMaximum:
      return mk('exclusiveMaximum', `${field} must be less than ${String(s['exclusiveMaximum'])}`);
    case ValueErrorType.IntegerExclusiveMinimum:
    case ValueErrorType.NumberExclusiveMinimum:
      return mk('exclusiveMinimum', `${field} must be greater than ${String(s['exclusiveMinimum'])}`);
    case ValueErrorType.IntegerMultipleOf:
    case ValueErrorType.NumberMultipleOf:
      return mk('multipleOf', `${field} must be a multiple of ${String(s['multipleOf'])}`);
    case ValueErrorType.ArrayMaxItems:
      return mk('maxItems', `${field} must have at most ${String(s['maxItems'])} items`, {
        limit: s['maxItems'],
      });
    case ValueErrorType.ArrayMinItems:
      return mk('minItems', `${field} must have at least ${String(s['minItems'])} items`, {
        limit: s['minItems'],
      });
    case ValueErrorType.ArrayUniqueItems:
      return mk('uniqueItems', `${field} must not contain duplicates`);
    case ValueErrorType.ObjectMaxProperties:
      return mk('maxProperties', `${field} has too many properties`);
    case ValueErrorType.ObjectMinProperties:
      return mk('minProperties', `${field} has too few properties`);
    case ValueErrorType.Literal:
      return mk('enum', `${field} must be ${JSON.stringify(s['const'])}`, { allowed: [s['const']] });
    case ValueErrorType.Union: {
      const options = (s['anyOf'] as Array<Record<string, unknown>> | undefined) ?? [];
      if (options.length > 0 && options.every((o) => 'const' in o)) {
        const allowed = options.map((o) => o['const']);
        return mk('enum', `${field} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, {
          allowed,
        });
      }
      return mk('type', `${field} does not match any allowed shape`);
    }
    case ValueErrorType.String:
    case ValueErrorType.Integer:
    case ValueErrorType.Number:
    case ValueErrorType.Boolean:
    case ValueErrorType.Object:
    case ValueErrorType.Array:
    case ValueErrorType.Null:
      if (wholePart && httpPart === 'body') return mk('type', `Request body must be ${describeType(s)}`);
      return mk('type', `${field} must be ${describeType(s)}`);
    default:
      return mk('invalid', `${field} is invalid: ${err.message}`);
  }
}

/**
 * Fastify validator compiler backed by TypeBox. Compiled once per route and part; defaults from the
 * schema are applied; bad input becomes a `ValidationError` (400 VALIDATION_ERROR).
 */
export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const checker = TypeCompiler.Compile(schema);
  const part = httpPart ?? 'body';
  const convert = part !== 'body';
  return (data: unknown) => {
    let value = convert ? convertFlat(schema, data) : data;
    // Defaults only fill in absent members; a body that is not an object is left for the checker.
    if (value !== null && value !== undefined) value = Value.Default(schema, value);
    if (checker.Check(value)) return { value };
    const first = checker.Errors(value).First();
    if (first === undefined) return { error: new ValidationError(LOCATION[part] ?? 'body', 'invalid') };
    return { error: toValidationError(first, part) };
  };
};

const compiled = new WeakMap<TSchema, ReturnType<typeof TypeCompiler.Compile>>();

/**
 * Validate `value` against `schema` outside fastify's per-route validation (e.g. a route serving
 * several operations whose body differs). Returns the value with defaults applied, typed; throws the
 * same `ValidationError` the routes answer with.
 */
export function assertValid<T extends TSchema>(
  schema: T,
  value: unknown,
  httpPart: 'body' | 'querystring' | 'params' | 'headers' = 'body',
): Static<T> {
  let checker = compiled.get(schema);
  if (checker === undefined) {
    checker = TypeCompiler.Compile(schema);
    compiled.set(schema, checker);
  }
  let v = httpPart === 'body' ? value : convertFlat(schema, value);
  if (v !== null && v !== undefined) v = Value.Default(schema, v);
  if (checker.Check(v)) return v as Static<T>;
  const first = checker.Errors(v).First();
  throw first === undefined
    ? new ValidationError(LOCATION[httpPart] ?? 'body', 'invalid')
    : toValidationError(first, httpPart);
}
