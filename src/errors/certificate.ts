/**
 * TLS certificate failures: configuration errors that no reconnect cures. grpc-js reports a
 * handshake that failed verification as `UNAVAILABLE`, like a lost connection; only the
 * status details (or a Node TLS error's `code`) tell the two apart.
 */

/** The `code` of an error that names a certificate failure found by the transport itself. */
export const TLS_CERTIFICATE_CODE = 'ERR_XREPL_TLS_CERTIFICATE';

/**
 * What failed: we do not trust the server's certificate, it does not hold the name we
 * connect to, or the server refused (or wanted) our client certificate.
 */
export type CertificateFailureKind = 'untrusted-server' | 'name-mismatch' | 'client-refused';

export interface CertificateFailure {
  kind: CertificateFailureKind;
  /** The TLS library's words for it, e.g. `unable to verify the first certificate`. */
  detail: string;
}

/** Phrases of OpenSSL and Node, as they appear in grpc-js status details. */
const PATTERNS: readonly [CertificateFailureKind, RegExp][] = [
  [
    'name-mismatch',
    /Hostname\/IP does not match certificate's altnames[^\n]*?(?=\. Resolution note|\s\(\d{4}-|$)/,
  ],
  [
    'client-refused',
    /alert (?:certificate required|unknown ca|bad certificate|certificate unknown|certificate expired|certificate revoked|unsupported certificate|access denied)/,
  ],
  [
    'untrusted-server',
    /unable to verify the first certificate|unable to get (?:local )?issuer certificate|self[- ]signed certificate(?: in certificate chain)?|certificate has expired|certificate is not yet valid|certificate has been revoked|certificate signature failure|unsupported certificate purpose/,
  ],
];

/** Node's and OpenSSL's error codes of the same failures (on errors of `node:tls`). */
const CODES: Record<string, CertificateFailureKind> = {
  ERR_TLS_CERT_ALTNAME_INVALID: 'name-mismatch',
  HOSTNAME_MISMATCH: 'name-mismatch',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'untrusted-server',
  UNABLE_TO_GET_ISSUER_CERT: 'untrusted-server',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'untrusted-server',
  SELF_SIGNED_CERT_IN_CHAIN: 'untrusted-server',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'untrusted-server',
  CERT_HAS_EXPIRED: 'untrusted-server',
  CERT_NOT_YET_VALID: 'untrusted-server',
  CERT_REVOKED: 'untrusted-server',
  CERT_UNTRUSTED: 'untrusted-server',
  CERT_REJECTED: 'untrusted-server',
  CERT_SIGNATURE_FAILURE: 'untrusted-server',
  INVALID_PURPOSE: 'untrusted-server',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'client-refused',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'client-refused',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'client-refused',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'client-refused',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'client-refused',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED: 'client-refused',
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: 'client-refused',
  ERR_SSL_TLSV1_ALERT_ACCESS_DENIED: 'client-refused',
};

/** The certificate failure a text (a gRPC status's details, an error message) names, if any. */
export function certificateFailureIn(text: string): CertificateFailure | undefined {
  for (const [kind, pattern] of PATTERNS) {
    const match = pattern.exec(text);
    if (match) return { kind, detail: match[0].trim() };
  }
  return undefined;
}

function isFailure(value: unknown): value is CertificateFailure {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.kind === 'string' && typeof v.detail === 'string';
}

/**
 * The certificate failure `err` itself is (not its causes): an error of `node:tls` with one of
 * the codes above, the transport's own (`TLS_CERTIFICATE_CODE`, with its `failure`), or a
 * gRPC status whose details name one.
 */
export function certificateFailureOf(err: unknown): CertificateFailure | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as Record<string, unknown>;
  const message = typeof e.message === 'string' ? e.message : '';
  if (typeof e.code === 'string') {
    if (e.code === TLS_CERTIFICATE_CODE && isFailure(e.failure)) return e.failure;
    const kind = CODES[e.code];
    if (kind !== undefined)
      return { kind, detail: certificateFailureIn(message)?.detail ?? message };
  }
  if (typeof e.code === 'number' && typeof e.details === 'string') {
    return certificateFailureIn(e.details);
  }
  return undefined;
}
