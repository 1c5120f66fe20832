/**
 * The open streams, by the token that opened them, so that revoking a token (or deleting its
 * subject) ends them: the token service reports the change as it sees it, and every stream of
 * that token or subject is ended with UNAUTHENTICATED at once — its handler sees its signal
 * abort and stops (a watch unsubscribes, a log follow stops reading, an exec kills its command).
 *
 * A stream is registered by the chain's authenticate step for every streaming RPC and removed
 * when the call ends, so the registry holds exactly the streams open now.
 */
import { RuneError } from '../../shared/errors.js';

interface OpenStream {
  subject: string;
  tokenId: string;
  end: (err: RuneError) => void;
}

export class StreamRegistry {
  private readonly byToken = new Map<string, Set<OpenStream>>();

  /** Records an open stream; `end` ends it with an error. Returns the function that forgets it. */
  register(tokenId: string, subject: string, end: (err: RuneError) => void): () => void {
    const stream: OpenStream = { subject, tokenId, end };
    let set = this.byToken.get(tokenId);
    if (!set) this.byToken.set(tokenId, (set = new Set()));
    set.add(stream);
    return () => {
      set.delete(stream);
      if (set.size === 0 && this.byToken.get(tokenId) === set) this.byToken.delete(tokenId);
    };
  }

  /** Ends every stream opened with token `tokenId`. */
  endToken(tokenId: string): void {
    const set = this.byToken.get(tokenId);
    if (!set) return;
    for (const stream of [...set]) {
      stream.end(new RuneError('UNAUTHENTICATED', `token ${tokenId} of subject "${stream.subject}" has been revoked; this stream is closed. Log in with another token`));
    }
  }

  /** Ends every stream of subject `subject` (it was deleted). */
  endSubject(subject: string): void {
    const err = new RuneError('UNAUTHENTICATED', `subject "${subject}" has been deleted; this stream is closed`);
    for (const set of [...this.byToken.values()]) {
      for (const stream of [...set]) if (stream.subject === subject) stream.end(err);
    }
  }

  /** How many streams are open. */
  get size(): number {
    let n = 0;
    for (const set of this.byToken.values()) n += set.size;
    return n;
  }
}
