/**
 * Every resource type a policy can name, and the access kinds a policy may grant on each, in
 * their canonical order. This is the one place that says so: the types below, the schemas,
 * `can` and normalisation follow from it, and so do the server's guards and token tables
 * (which the type checker makes you extend when a type is added here).
 */
export const RESOURCE_TYPES = {
  agent: ['read_messages', 'write_messages', 'read_agent', 'write_agent'],
} as const satisfies Record<string, readonly [string, ...string[]]>;

export type ResourceType = keyof typeof RESOURCE_TYPES;

/** The access kinds a policy may grant on a resource of type `T`. */
export type AccessOf<T extends ResourceType> = (typeof RESOURCE_TYPES)[T][number];

/** Any access kind of any resource type. */
export type Access = AccessOf<ResourceType>;

export type PolicyEntry = {
  [T in ResourceType]: { type: T; id: string; access: AccessOf<T>[] };
}[ResourceType];

export interface Policy {
  version: '1';
  data: PolicyEntry[];
}

/** A question for `can`: may one do `access` on the resource of `type` with this `id`? */
export interface AccessRequest<T extends ResourceType = ResourceType> {
  type: T;
  id: string;
  access: AccessOf<T>;
}

/** The resource types, in declaration order. */
export const resourceTypes = (): ResourceType[] => Object.keys(RESOURCE_TYPES) as ResourceType[];

/** Whether `access` is one of the access kinds of `type`. */
export const isAccessOf = <T extends ResourceType>(
  type: T,
  access: unknown,
): access is AccessOf<T> => (RESOURCE_TYPES[type] as readonly unknown[]).includes(access);
