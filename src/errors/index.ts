export { classifyError, errorMessage, isGrpcError, GRPC_UNAVAILABLE } from './classify.js';
export {
  certificateFailureIn,
  certificateFailureOf,
  TLS_CERTIFICATE_CODE,
  type CertificateFailure,
  type CertificateFailureKind,
} from './certificate.js';
export { ConfigError } from './config-error.js';
export { StalePlanError } from './stale-plan.js';
export { StepStalledError } from './step-stalled.js';
export { quote } from './quote.js';
