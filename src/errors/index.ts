export { classifyError, errorMessage, isGrpcError, GRPC_UNAVAILABLE } from './classify.js';
export {
  certificateFailureIn,
  certificateFailureOf,
  TLS_CERTIFICATE_CODE,
  type CertificateFailure,
  type CertificateFailureKind,
} from './certificate.js';
export { ConfigError } from './config-error.js';
export { quote } from './quote.js';
