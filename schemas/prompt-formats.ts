// Prompt formats: how each family of official RWKV models expects a request to be written, so that a document
// is read inside the user's turn and the answer is generated as the assistant's. Part of what a task is: a
// parsed task's defaults (templates, stops, label prefix) are rendered from its format (schemas/tasks.ts).
//
// Sources (read for the formats; nothing is copied from them):
//   rwkv7-g  the model card of https://huggingface.co/BlinkDL/rwkv7-g1 (README.md, "Prompt Format"):
//            `System: …\n\nUser: …\n\nAssistant:`, "replace all \n\n in USER_PROMPT to \n" because \n\n is the
//            chat-round separator of the training data; think mode `Assistant: <think`; the no-think "fake think"
//            prefix `Assistant: <think>\n</think>` (also what the G1 chat template renders with thinking off).
//   world    the model cards of https://huggingface.co/BlinkDL/rwkv-7-world, BlinkDL/rwkv-6-world and
//            BlinkDL/rwkv-5-world ("A good chat prompt (better replace \n\n in xxx to \n)": `User: xxx\n\nAssistant:`),
//            and ChatRWKV's API_DEMO_CHAT.py (https://github.com/BlinkDL/ChatRWKV/blob/main/API_DEMO_CHAT.py),
//            which folds blank lines of the user's message and stops a reply at "\n\n".
//   raven    ChatRWKV's v2/chat.py and the model card of https://huggingface.co/BlinkDL/rwkv-4-raven:
//            `Bob: xxx\n\nAlice:` (user "Bob", bot "Alice", interface ":").
//   raw      RWKV-4 Pile and any base model: plain completion, the document then a template such as "\n\nSummary:".
// RWKV-Runner's presets (https://github.com/josStorer/RWKV-Runner, frontend/src/pages/defaultConfigs.ts) use the
// same `User:`/`Assistant:` and `Bob:`/`Alice:` turns per family.

export const PROMPT_FORMATS = ['raw', 'world', 'rwkv7-g', 'raven'] as const;
export type PromptFormat = (typeof PROMPT_FORMATS)[number];

export interface PromptProfile {
  name: PromptFormat;
  /** Who asks and who answers; null for raw (no turns). */
  turns: { user: string; assistant: string } | null;
  /** Whether a `System:` turn may come first (documented for the G series only). */
  system: boolean;
  /** Whether the family has a think mode (`Assistant: <think`). */
  think: boolean;
  /** Stop sequences of a generated answer: the end of the turn, and the next turn's name. */
  stop: readonly string[];
  /** Put before each label when labels are scored as the answer. */
  labelPrefix: string;
}

const PROFILES: Readonly<Record<PromptFormat, PromptProfile>> = {
  raw: { name: 'raw', turns: null, system: false, think: false, stop: ['\n\n'], labelPrefix: ' ' },
  world: {
    name: 'world',
    turns: { user: 'User', assistant: 'Assistant' },
    system: false,
    think: false,
    stop: ['\n\n', 'User:'],
    labelPrefix: ' ',
  },
  // After the fake think block the answer starts on a new line (the usual rendering is `</think>\n` + answer).
  'rwkv7-g': {
    name: 'rwkv7-g',
    turns: { user: 'User', assistant: 'Assistant' },
    system: true,
    think: true,
    stop: ['\n\n', 'User:'],
    labelPrefix: '\n',
  },
  raven: {
    name: 'raven',
    turns: { user: 'Bob', assistant: 'Alice' },
    system: false,
    think: false,
    stop: ['\n\n', 'Bob:'],
    labelPrefix: ' ',
  },
};

export function promptProfile(format: PromptFormat): PromptProfile {
  return PROFILES[format];
}

/** Default instructions of chat formats (raw formats use templates instead). */
export const DEFAULT_INSTRUCTIONS = {
  summarize: 'Summarize the text above in a few sentences.',
  section: 'Summarize the last part of the text above in a few sentences.',
  reduceIntro: 'Here are summaries of consecutive sections of one document:',
  reduce: 'Summarize the whole document in a few sentences, using the section summaries above.',
} as const;

export const classifyInstruction = (labels: readonly string[]): string => `Answer with one of: ${labels.join(', ')}`;

const LF = 0x0a;
const isBlank = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0b || b === 0x0c;

/**
 * Whitespace held back at most, per run: a longer run is written out as it is (a line of more than this many
 * blanks counts as a line with content), so memory stays bounded whatever a document holds.
 */
export const MAX_HELD_WHITESPACE = 64 * 1024;

/**
 * Folds text for a chat turn, as bytes arrive: lines holding only whitespace are dropped, and the whitespace
 * the text ends with, so the output never has "\n\n" (the turn separator) and never starts or ends with a line
 * break; every other line is kept as written (indentation, a carriage return before a line break). Memory: the
 * current run of whitespace, until the next visible byte, at most MAX_HELD_WHITESPACE bytes.
 */
export class TurnFolder {
  #started = false;
  #inLine = false;
  /** Whitespace since the last visible byte of this line (or since its start). */
  #held: number[] = [];
  /** The trailing whitespace of the last line written, kept with it when another visible line follows. */
  #tail: number[] = [];

  push(bytes: Uint8Array): Uint8Array {
    const out = Buffer.allocUnsafe(bytes.length + this.#held.length + this.#tail.length + 1);
    let n = 0;
    /** Writes what is held: the line is one with content (a visible byte follows, or the run is too long). */
    const release = () => {
      if (!this.#inLine) {
        // The line before ends here (there is none before the first line).
        if (this.#started) {
          for (const t of this.#tail) out[n++] = t;
          out[n++] = LF;
        }
        this.#tail = [];
        this.#inLine = true;
        this.#started = true;
      }
      for (const h of this.#held) out[n++] = h;
      this.#held.length = 0;
    };
    for (const b of bytes) {
      if (b === LF) {
        if (this.#inLine) {
          this.#tail = this.#held;
          this.#held = [];
          this.#inLine = false;
        } else {
          this.#held.length = 0;
        }
        continue;
      }
      if (isBlank(b)) {
        this.#held.push(b);
        if (this.#held.length >= MAX_HELD_WHITESPACE) release();
        continue;
      }
      release();
      out[n++] = b;
    }
    return out.subarray(0, n);
  }

  /** The text has ended: trailing whitespace and blank lines are dropped, so nothing is left to emit. */
  end(): void {
    this.#held = [];
    this.#tail = [];
  }
}

/** A whole text folded for a chat turn (instructions, a system prompt, section summaries). */
export function foldTurnText(text: string): string {
  return Buffer.from(new TurnFolder().push(Buffer.from(text, 'utf8'))).toString('utf8');
}

/** What goes before the document: the optional system turn, then the user's name. Empty for raw. */
export function documentPrefix(format: PromptFormat, system?: string): string {
  const p = PROFILES[format];
  if (!p.turns) return '';
  const systemTurn = system !== undefined ? `System: ${foldTurnText(system)}\n\n` : '';
  return `${systemTurn}${p.turns.user}: `;
}

/** The end of the user's turn and the start of the assistant's: after it the model writes the answer. */
export function assistantTurn(format: PromptFormat, think: boolean): string {
  const p = PROFILES[format];
  if (!p.turns) throw new Error('the raw format has no turns');
  const turn = `\n\n${p.turns.assistant}:`;
  if (!p.think) return turn;
  return think ? `${turn} <think` : `${turn} <think>\n</think>`;
}

/** What follows the (folded) user content: the instruction on its own line, then the assistant's turn. */
export function answerSuffix(format: PromptFormat, instruction: string, think: boolean): string {
  return `\n${foldTurnText(instruction)}${assistantTurn(format, think)}`;
}

/**
 * The format an official release's file name implies (the names BlinkDL publishes on Hugging Face), or
 * undefined when the name is not one of them. Any extension: converted copies keep the release name.
 */
export function formatFromFileName(file: string): PromptFormat | undefined {
  const base = file.split(/[\\/]/).pop() ?? file;
  // G series: rwkv7-g1-…, rwkv7-g1a-…, rwkv7-g1d-…, rwkv7-g0a3-…, and the rwkv7a-/rwkv7b- variants.
  if (/^rwkv7[ab]?-g\d/i.test(base)) return 'rwkv7-g';
  // World: RWKV-x070-World-…, RWKV-x060-World-…, RWKV-5-World-…, RWKV-4-World-….
  if (/^RWKV-(x0[5-7]0|[4-7])-World-/i.test(base)) return 'world';
  if (/^RWKV-4-Raven-/i.test(base)) return 'raven';
  if (/^RWKV-4-Pile-/i.test(base)) return 'raw';
  return undefined;
}
