/** The grants a policy can give on an agent, in their canonical order. */
export const ACCESS_KINDS = [
  'read_messages',
  'write_messages',
  'read_agent',
  'write_agent',
] as const;

export type Access = (typeof ACCESS_KINDS)[number];

export type ResourceType = 'agent';

export interface PolicyEntry {
  type: ResourceType;
  id: string;
  access: Access[];
}

export interface Policy {
  version: '1';
  data: PolicyEntry[];
}

export interface AccessRequest {
  type: ResourceType;
  id: string;
  access: Access;
}
