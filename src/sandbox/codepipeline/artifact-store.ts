/**
 * The artifact store, as on AWS: when an action succeeds, CodePipeline writes each of its output artifacts,
 * zipped, into the pipeline's artifact bucket under `<pipeline (20 chars)>/<artifact (10 chars)>/<7 chars>`
 * (aws-semantics §2 "artifactStore"; the key the action's `outputArtifacts[].s3location` shows). The sandbox
 * does so when that bucket exists in its S3 (a stack's versioned artifact bucket, which teardown must then
 * empty); a pipeline whose bucket does not exist there keeps its artifacts local only, as before.
 *
 * @example
 * const build = storingArtifacts(new CodeBuildRunner(options), { s3, bucketFor: (ctx) => 'cap-artifacts', scratch });
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RegionalS3 } from '../s3/index.ts';
import { artifactKeyOf } from './engine.ts';
import { type ActionRunContext, type ActionRunner, failed } from './runners/types.ts';
import { zipDirectory } from './zip.ts';

/** What {@link storingArtifacts} needs. */
export interface ArtifactStoreOptions {
  /** The sandbox's S3 (in-process). */
  readonly s3: Pick<RegionalS3, 'hasBucket' | 'putObjectFromFile'>;
  /** The artifact bucket of the action's pipeline (and region), if it declares one. */
  readonly bucketFor: (ctx: ActionRunContext) => string | undefined;
  /** A directory for the zip files on their way into the bucket. */
  readonly scratch: string;
}

/** `runner`, whose successful outputs are also written into the pipeline's artifact bucket when it exists. */
export function storingArtifacts(runner: ActionRunner, options: ArtifactStoreOptions): ActionRunner {
  return {
    async run(ctx) {
      const result = await runner.run(ctx);
      const bucket = ctx.outputArtifacts.length > 0 ? options.bucketFor(ctx) : undefined;
      if (result.status !== 'Succeeded' || !bucket || !options.s3.hasBucket(bucket)) return result;
      await mkdir(options.scratch, { recursive: true });
      for (const artifact of ctx.outputArtifacts) {
        const key = artifactKeyOf(ctx.pipelineName, ctx.pipelineExecutionId, artifact.name);
        const zip = join(options.scratch, `${randomUUID()}.zip`);
        try {
          await zipDirectory(artifact.dir, zip);
          await options.s3.putObjectFromFile(bucket, key, zip);
        } catch (error) {
          // On AWS an artifact that cannot be uploaded fails the action that produced it.
          return failed(
            `Action ${ctx.action.name} could not upload its output artifact ${artifact.name} to the artifact store ` +
              `s3://${bucket}/${key}: ${(error as Error).message}`,
          );
        } finally {
          await rm(zip, { force: true });
        }
      }
      return result;
    },
    ...(runner.stop ? { stop: () => runner.stop!() } : {}),
  };
}
