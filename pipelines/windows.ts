// Windowed summaries of an event stream: window w of size N holds the events with seq w·N+1 .. (w+1)·N and is
// summarized when its last event is scored. The open window's running summary travels in each batch result,
// which is the checkpoint's outbox: the next drain continues it from the committed result, so the window
// accumulator is committed atomically with the state and the cursor. A retried or resumed drain starts from
// the same committed summary and adds the same events in the same order with the same arithmetic, and JSON
// round-trips doubles exactly, so it emits the same bytes as an undisturbed run.
import { z } from 'zod';

import { WindowSummarySchema, type EventScore, type WindowSummary, type WindowTopEvent } from '../schemas/results.ts';
import { permanent } from './errors.ts';

export interface WindowSettings {
  /** Events per window (> 0). */
  windowEvents: number;
  /** Most surprising events listed per window. */
  topEvents: number;
}

export interface WindowsOutput {
  /** The windows closed by this batch, in order. */
  windows: WindowSummary[];
  /** The window still open after it; null when the batch's last event closed one. */
  openWindow: WindowSummary | null;
}

export function windowIndex(seq: number, windowEvents: number): number {
  return Math.floor((seq - 1) / windowEvents);
}

/** Most surprising first; equal surprises by seq, so the order (and any top-k cut) is total. */
function byRank(a: WindowTopEvent, b: WindowTopEvent): number {
  return b.surprise - a.surprise || a.seq - b.seq;
}

// Built field by field, so a summary has the same key order whether it was just made or parsed back.
function topEvent(seq: number, id: string | undefined, surprise: number): WindowTopEvent {
  return { seq, ...(id === undefined ? {} : { id }), surprise };
}

function summary(fields: Omit<WindowSummary, 'meanEventSurprise' | 'top'>, top: WindowTopEvent[]): WindowSummary {
  return {
    window: fields.window,
    windowEvents: fields.windowEvents,
    firstSeq: fields.firstSeq,
    lastSeq: fields.lastSeq,
    events: fields.events,
    tokens: fields.tokens,
    alerts: fields.alerts,
    surpriseSum: fields.surpriseSum,
    meanEventSurprise: fields.surpriseSum / fields.events,
    maxSurprise: fields.maxSurprise,
    top: top.map((t) => topEvent(t.seq, t.id, t.surprise)),
  };
}

/**
 * The top `k` of (the window's top ∪ the event). The ranking is a total order, so the top k of a window
 * equals the top k of its earlier top k plus its later events, however the events were cut into batches.
 */
function withTop(top: WindowTopEvent[], event: EventScore, k: number): WindowTopEvent[] {
  return [...top, topEvent(event.seq, event.id, event.surprise)].sort(byRank).slice(0, k);
}

function open(window: number, settings: WindowSettings, event: EventScore): WindowSummary {
  return summary(
    {
      window,
      windowEvents: settings.windowEvents,
      firstSeq: event.seq,
      lastSeq: event.seq,
      events: 1,
      tokens: event.tokens,
      alerts: event.alert ? 1 : 0,
      surpriseSum: event.surprise,
      maxSurprise: event.surprise,
    },
    withTop([], event, settings.topEvents),
  );
}

function add(current: WindowSummary, event: EventScore, settings: WindowSettings): WindowSummary {
  return summary(
    {
      ...current,
      lastSeq: event.seq,
      events: current.events + 1,
      tokens: current.tokens + event.tokens,
      alerts: current.alerts + (event.alert ? 1 : 0),
      surpriseSum: current.surpriseSum + event.surprise,
      maxSurprise: Math.max(current.maxSurprise, event.surprise),
    },
    withTop(current.top, event, settings.topEvents),
  );
}

/**
 * Adds a batch's scored events (in seq order) to the window left open by the previous batch. A window closes
 * with its last seq, or when an event of a later window arrives first. A carried window of another size (the
 * setting changed) is closed as it stands; the new size then starts with the next event, so no event is ever
 * counted twice or dropped from a window it was scored in.
 */
export function advanceWindows(
  carried: WindowSummary | null,
  events: readonly EventScore[],
  settings: WindowSettings,
): WindowsOutput {
  if (!Number.isInteger(settings.windowEvents) || settings.windowEvents < 1) {
    throw permanent(
      'E_WINDOW_SETTINGS',
      `expected windowEvents to be a positive integer, got ${settings.windowEvents}`,
    );
  }
  const windows: WindowSummary[] = [];
  let current = carried;
  if (current && current.windowEvents !== settings.windowEvents) {
    windows.push(current);
    current = null;
  }
  for (const event of events) {
    const w = windowIndex(event.seq, settings.windowEvents);
    if (current && event.seq <= current.lastSeq) {
      throw permanent(
        'E_WINDOW_ORDER',
        `expected events after seq ${current.lastSeq} (the open window's last), got seq ${event.seq}`,
      );
    }
    if (current && current.window !== w) {
      windows.push(current);
      current = null;
    }
    current = current ? add(current, event, settings) : open(w, settings, event);
    if (event.seq === (w + 1) * settings.windowEvents) {
      windows.push(current);
      current = null;
    }
  }
  return { windows, openWindow: current };
}

/** Only the field a drain continues from; the rest of the committed result is not judged here. */
const CarriedSchema = z.object({ openWindow: WindowSummarySchema.nullable().optional() });

/**
 * The open window a stream's last committed batch result carries: null when there is no result yet, or the
 * result has none (windows were off, or its last event closed a window).
 */
export function carriedWindow(committedResult: string | null): WindowSummary | null {
  if (committedResult === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(committedResult);
  } catch (err) {
    throw permanent('E_WINDOW_STATE', "expected the stream's last committed batch result to be JSON", err);
  }
  const carried = CarriedSchema.safeParse(parsed);
  if (!carried.success) {
    const issue = carried.error.issues[0]!;
    throw permanent(
      'E_WINDOW_STATE',
      `expected the open window in the stream's last committed batch result to be a window ` +
        `summary (openWindow.${issue.path.join('.')}: ${issue.message})`,
    );
  }
  return carried.data.openWindow ?? null;
}
