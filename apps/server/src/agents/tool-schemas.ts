import { z } from 'zod';
import { findToolById, findToolByName, TOOL_CATALOG } from './tool-catalog.js';

const TOOL_NAMES = TOOL_CATALOG.filter((t) => !t.unavailable)
  .map((t) => t.name)
  .join(', ');

/**
 * A tool the caller asks for, by Letta's name (`tools`) or id (`tool_ids`): one this server
 * does not know, or knows but cannot run, is refused by name with the reason. The input is
 * kept as given (services parse it again), and turned into names by the service.
 */
const toolBy = (find: (key: string) => { name: string; unavailable?: string } | undefined) =>
  z
    .string()
    .max(200)
    .superRefine((key, ctx) => {
      const tool = find(key);
      if (!tool) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown tool "${key}"; this server's tools are ${TOOL_NAMES}`,
        });
      } else if (tool.unavailable) {
        ctx.addIssue({ code: 'custom', message: `"${tool.name}" ${tool.unavailable}` });
      }
    });
const toolList = (find: Parameters<typeof toolBy>[0]) =>
  z.array(toolBy(find)).max(50, 'must have at most 50 tools');
export const toolNamesSchema = toolList(findToolByName);
export const toolIdsSchema = toolList(findToolById).nullable();
