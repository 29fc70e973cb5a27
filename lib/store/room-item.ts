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
