/** What the demo site is given when it starts. */
export interface DemoOptions {
  /**
   * A directory the demo owns and may write in (generated downloads, uploads); whoever starts the
   * demo makes it and removes it at exit. Nothing is written anywhere else.
   */
  readonly dataDir: string;
}
