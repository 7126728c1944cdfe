export {
  DEFAULT_MAX_TOKEN_TTL_MS,
  DEFAULT_TOKEN_TTL_MS,
  expiresInSeconds,
  refreshDelayMs,
  resolveExpiry,
} from './expiry.js';
export { normalizeOrigin, originMatches, parseHostname } from './origin.js';
export { can, isSubsetPolicy, narrowPolicy, normalizePolicy, resourceIdsOf } from './policy.js';
export {
  type Access,
  type AccessOf,
  type AccessRequest,
  isAccessOf,
  type Policy,
  type PolicyEntry,
  RESOURCE_TYPES,
  type ResourceType,
  resourceTypes,
} from './resources.js';
export type { Result } from './result.js';
export {
  accessSchemaOf,
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
