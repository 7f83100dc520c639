/**
 * Turns by name within this process: transactions that name the same village wait here, one
 * behind the other, before they take a database connection (sql.ts). Without it, every writer of
 * a busy village would hold one of the pool's few connections while waiting for the village's
 * database lock, and the other villages' writers would wait for a connection behind them.
 */
export class Turns {
  /** Per name, the turn of its last taker: the next taker waits for it. */
  private readonly tails = new Map<string, Promise<void>>();

  /**
   * Waits for a turn on each of `names`, taken in sorted order (two callers naming the same
   * villages never hold one each while waiting for the other's); the returned function gives them back.
   */
  async take(names: readonly string[]): Promise<() => void> {
    const held: (() => void)[] = [];
    for (const name of [...new Set(names)].sort()) held.push(await this.one(name));
    return () => {
      for (const give of held.reverse()) give();
    };
  }

  private async one(name: string): Promise<() => void> {
    const before = this.tails.get(name);
    let give!: () => void;
    const mine = new Promise<void>((resolve) => (give = resolve));
    const tail = before ? before.then(() => mine) : mine;
    this.tails.set(name, tail);
    if (before) await before;
    return () => {
      give();
      if (this.tails.get(name) === tail) this.tails.delete(name);
    };
  }
}
