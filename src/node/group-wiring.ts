/**
 * The consumer-group request kinds on a node's server. The coordinator and the finder come from
 * src/groups (brokerGroups); this file only maps requests to them.
 *
 * Invariants:
 * - FindCoordinator is answered by every node (brokers and controllers) from its own image.
 * - The other group requests reaching a node that is not a broker answer NOT_COORDINATOR; nothing is
 *   forwarded — clients find the coordinator themselves.
 */
import type { CoordinatorFinder } from '../groups/coordinator-finder.js';
import type { GroupCoordinator } from '../groups/coordinator.js';
import { groupError, type GroupErrorResult } from '../groups/errors.js';
import type { NetServer } from '../net/server.js';

export interface GroupHandlerDeps {
  /** Brokers only. */
  readonly coordinator: GroupCoordinator | undefined;
  readonly finder: CoordinatorFinder;
}

export function registerGroupHandlers(server: NetServer, deps: GroupHandlerDeps): void {
  const notBroker = (): GroupErrorResult => groupError('NOT_COORDINATOR', 'this node is not a broker');
  server.handle('find-coordinator', (request) => deps.finder.find(request.groupId));
  server.handle('consumer-group-heartbeat', async (request) => deps.coordinator?.heartbeat(request) ?? notBroker());
  server.handle('offset-commit', async (request) => deps.coordinator?.commitOffsets(request) ?? notBroker());
  server.handle('offset-fetch', async (request) => deps.coordinator?.fetchOffsets(request) ?? notBroker());
  server.handle('list-groups', async () => deps.coordinator?.listGroups() ?? { groups: [] });
  server.handle('describe-groups', async (request) => deps.coordinator?.describeGroups(request.groupIds) ?? { groups: request.groupIds.map((groupId) => ({ groupId, ...notBroker() })) });
  server.handle('delete-groups', async (request) => deps.coordinator?.deleteGroups(request.groupIds) ?? { results: request.groupIds.map((groupId) => ({ groupId, ...notBroker() })) });
}
