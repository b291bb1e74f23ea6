/** S3 bucket naming rules (the current, DNS-compatible ones). */

/** Why `name` is not a valid bucket name, or `undefined` when it is. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'Bucket names must be between 3 and 63 characters long';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name))
    return 'Bucket names may contain only lowercase letters, digits, dots and hyphens, and must begin and end with a letter or digit';
  if (name.includes('..')) return 'Bucket names must not contain two adjacent periods';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'Bucket names must not be formatted as an IP address';
  if (name.startsWith('xn--') || name.endsWith('-s3alias'))
    return 'Bucket name uses a reserved prefix or suffix';
  return undefined;
}
