export { AppError, ERROR_STATUS, errors, type ErrorCode, type TokenFailure } from './errors';
