/** CodeCommit state: repository metadata by name (the git data itself lives in the bare repositories). */

export interface RepositoryRecord {
  readonly repositoryId: string;
  readonly repositoryName: string;
  repositoryDescription?: string;
  /** Set by the first push, as on AWS (an empty repository has no default branch). */
  defaultBranch?: string;
  readonly creationDate: Date;
  lastModifiedDate: Date;
  tags: Record<string, string>;
}

export class RepositoryStore {
  readonly byName = new Map<string, RepositoryRecord>();

  get(name: string): RepositoryRecord | undefined {
    return this.byName.get(name);
  }

  add(record: RepositoryRecord): void {
    this.byName.set(record.repositoryName, record);
  }

  delete(name: string): RepositoryRecord | undefined {
    const record = this.byName.get(name);
    this.byName.delete(name);
    return record;
  }

  all(): RepositoryRecord[] {
    return [...this.byName.values()];
  }

  clear(): void {
    this.byName.clear();
  }
}
