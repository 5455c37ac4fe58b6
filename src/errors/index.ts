export { classifyError, errorMessage, isGrpcError, GRPC_UNAVAILABLE } from './classify.js';
export { ConfigError } from './config-error.js';
