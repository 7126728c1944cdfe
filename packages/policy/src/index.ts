export {
  ACCESS_KINDS,
  type Access,
  type AccessRequest,
  type Policy,
  type PolicyEntry,
  type ResourceType,
} from './access.js';
export {
  DEFAULT_MAX_TOKEN_TTL_MS,
  DEFAULT_TOKEN_TTL_MS,
  expiresInSeconds,
  refreshDelayMs,
  resolveExpiry,
} from './expiry.js';
export { normalizeOrigin, originMatches, parseHostname } from './origin.js';
export { agentIdsOf, can, isSubsetPolicy, narrowPolicy, normalizePolicy } from './policy.js';
export type { Result } from './result.js';
export {
  accessSchema,
  type CreateTokenRequest,
  createTokenRequestSchema,
  expiresAtSchema,
  formatIssues,
  hostnameSchema,
  type IssueList,
  type MintedTokenRecord,
  mintedTokenRecordSchema,
  parseCreateTokenRequest,
  policyEntriesSchema,
  policyEntrySchema,
  policySchema,
  type TokenRecord,
  tokenRecordSchema,
  toValidationIssues,
  type ValidationIssue,
} from './schemas.js';
export {
  describeTokenError,
  generateToken,
  isWellFormedToken,
  parseToken,
  redactToken,
  TOKEN_LENGTH,
  TOKEN_PREFIXES,
  type TokenKind,
  type TokenParseError,
} from './token.js';
