export { createService, type ServiceOptions } from './create-service';
export { AppError, ERROR_STATUS, type ErrorCode, errors, type TokenFailure } from './errors';
export { healthRoutes, type ReadinessCheck } from './health';
export { errorHandler, notFoundHandler, PROBLEM_CONTENT_TYPE, sendProblem, toAppError } from './problem';
export { requestId } from './request-id';
export { type ShutdownOptions, shutdownGracefully } from './shutdown';
export { parseInput } from './validate';
