/**
 * S3 errors: the codes and HTTP statuses of Amazon S3's error responses. S3 routes answer these as
 * `<Error>` XML documents (never the JSON envelope).
 */

/** S3 error code → HTTP status. */
export const S3_ERROR_STATUS = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BucketAlreadyExists: 409,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidDigest: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  InvalidStorageClass: 400,
  KeyTooLongError: 400,
  MalformedXML: 400,
  MalformedPOSTRequest: 400,
  MaxMessageLengthExceeded: 400,
  MetadataTooLarge: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  MissingSecurityHeader: 400,
  NoSuchBucket: 404,
  NoSuchCORSConfiguration: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NoSuchTagSet: 404,
  NoSuchBucketPolicy: 404,
  NoSuchLifecycleConfiguration: 404,
  ServerSideEncryptionConfigurationNotFoundError: 404,
  NotImplemented: 501,
  NotModified: 304,
  PreconditionFailed: 412,
  RequestTimeTooSkewed: 403,
  ServiceUnavailable: 503,
  SignatureDoesNotMatch: 403,
  XAmzContentSHA256Mismatch: 400,
  InvalidTag: 400,
  ConditionalRequestConflict: 409,
} as const;

/** An S3 error code. */
export type S3ErrorCode = keyof typeof S3_ERROR_STATUS;

/** An error answered as S3 XML. `extra` adds elements to the `<Error>` document (e.g. `BucketName`). */
export class S3Error extends Error {
  readonly code: S3ErrorCode;
  readonly status: number;
  readonly extra: Record<string, string>;
  readonly headers: Record<string, string>;

  constructor(
    code: S3ErrorCode,
    message: string,
    opts: { extra?: Record<string, string>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'S3Error';
    this.code = code;
    this.status = S3_ERROR_STATUS[code];
    this.extra = opts.extra ?? {};
    this.headers = opts.headers ?? {};
  }
}
