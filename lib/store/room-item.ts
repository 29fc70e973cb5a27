import type { ChildItem } from './message-item.ts';
import { join, type Run, unflatten } from './path.ts';

/** A conversation's item (`ROOM#{room}`), and what the rooms list and a room's page show of it. */
export interface RoomItem {
  sk: string;
  activity?: string;
  room_id: string;
  /** The last sequence number handed out. */
  seq: number;
  /** The `seq` at the last clear: messages up to it are hidden. */
  base?: number;
  message_count: number;
  auto_title?: string;
  title?: string;
  created_at?: string;
  updated_at?: string;
  last_message_at?: string;
  last_message_preview?: string;
  /**
   * The active path but its last run, flattened `[from, to, ...]`; the last run is `tail` to
   * `leaf`. All three are absent for a conversation written before the tree (one run, from the
   * first visible message to `seq`).
   */
  runs?: number[];
  tail?: number;
  leaf?: number;
  /** The conversation's first messages, once there is more than one version of the first. */
  roots?: ChildItem[];
}

/** The conversation's base: messages at or below it are cleared. */
export const baseOf = (room: RoomItem | undefined) => Number(room?.base ?? 0);

/** The sequence number of the active leaf (the base, for an empty conversation). */
export const leafOf = (room: RoomItem | undefined) => Number(room?.leaf ?? room?.seq ?? 0);

/** The active path, from the first message to the active leaf, as runs of sequence numbers. */
export function activePath(room: RoomItem | undefined): Run[] {
  if (!room) return [];
  const tail = Number(room.tail ?? baseOf(room) + 1);
  return join(unflatten(room.runs), [[tail, leafOf(room)]]);
}

/** A conversation as the rooms list shows it. */
export interface RoomSummary {
  roomId: string;
  title: string;
  messageCount: number;
  lastMessageAt: string;
  lastMessagePreview: string;
}

/** A conversation as its own page shows it. */
export interface RoomDetails extends RoomSummary {
  /** Set by its owner (as opposed to taken from its first message, or made by the model). */
  titled: boolean;
  createdAt: string;
  updatedAt: string;
  /** The id of the last message of the active path, when it was looked up. */
  activeLeafId?: string | null;
}

const PREVIEW_CHARS = 120;

/** The start of a question, as the rooms list previews it. */
export const previewOf = (content: string) => [...content].slice(0, PREVIEW_CHARS).join('');

/** A room item as the rooms list shows it. */
export function roomSummary(item: RoomItem): RoomSummary {
  return {
    roomId: item.room_id,
    title: item.title ?? item.auto_title ?? item.room_id,
    messageCount: Math.max(0, Number(item.message_count)),
    lastMessageAt: item.last_message_at ?? '',
    lastMessagePreview: item.last_message_preview ?? '',
  };
}

/** A room item as its own page shows it. */
export function roomDetails(item: RoomItem): RoomDetails {
  return {
    ...roomSummary(item),
    titled: item.title !== undefined,
    createdAt: item.created_at ?? '',
    updatedAt: item.updated_at ?? '',
  };
}
