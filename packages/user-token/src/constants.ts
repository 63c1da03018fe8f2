/** Node lower-cases incoming header names, so this is the form to look up and to strip. */
export const USER_TOKEN_HEADER = 'x-user-token';

/** A token is a per-hop credential: short enough that a leaked one is nearly worthless. */
export const DEFAULT_TOKEN_TTL_SECONDS = 60;

/** Hard ceiling, enforced when minting AND when verifying (exp - iat), so no issuer can mint long-lived tokens. */
export const MAX_TOKEN_TTL_SECONDS = 300;

/** A real token is ~400 bytes; anything near this is an attack on the decoder, refused before parsing. */
export const MAX_TOKEN_HEADER_BYTES = 8192;

/** Default allowance for clock drift between replicas, in seconds. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 5;
