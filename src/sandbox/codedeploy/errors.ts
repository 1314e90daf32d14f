/** CodeDeploy errors (`__type` = the model's exception shape name, aws-semantics 3.12) and lookups that throw them. */
import { ServiceError } from '../protocol/errors.ts';
import type { ApplicationRecord, CodeDeployStore, DeploymentGroupRecord, DeploymentRecord } from './store.ts';
import { DEPLOYMENT_ID } from './ids.ts';

export function err(code: string, message: string): ServiceError {
  return new ServiceError(code, message);
}

const NAME = /^[A-Za-z0-9._+=,@-]{1,100}$/;

export function requireApplication(store: CodeDeployStore, name: unknown): ApplicationRecord {
  if (name === undefined || name === '')
    throw err(
      'ApplicationNameRequiredException',
      'The minimum number of required application names was not specified.',
    );
  if (typeof name !== 'string' || !NAME.test(name))
    throw err(
      'InvalidApplicationNameException',
      `The application name '${String(name)}' is invalid: use 1-100 letters, digits and ._+=,@-`,
    );
  const app = store.applications.get(name);
  if (!app)
    throw err(
      'ApplicationDoesNotExistException',
      `The application ${name} does not exist with the user or AWS account.`,
    );
  return app;
}

export function checkGroupName(name: unknown): string {
  if (name === undefined || name === '')
    throw err('DeploymentGroupNameRequiredException', 'The deployment group name was not specified.');
  if (typeof name !== 'string' || !NAME.test(name))
    throw err(
      'InvalidDeploymentGroupNameException',
      `The deployment group name '${String(name)}' is invalid: use 1-100 letters, digits and ._+=,@-`,
    );
  return name;
}

export function requireGroup(store: CodeDeployStore, app: string, name: unknown): DeploymentGroupRecord {
  const dg = store.group(app, checkGroupName(name));
  if (!dg)
    throw err(
      'DeploymentGroupDoesNotExistException',
      `The deployment group ${String(name)} does not exist with the user or AWS account.`,
    );
  return dg;
}

export function checkApplicationName(name: unknown): string {
  if (name === undefined || name === '')
    throw err(
      'ApplicationNameRequiredException',
      'The minimum number of required application names was not specified.',
    );
  if (typeof name !== 'string' || !NAME.test(name))
    throw err(
      'InvalidApplicationNameException',
      `The application name '${String(name)}' is invalid: use 1-100 letters, digits and ._+=,@-`,
    );
  return name;
}

export function requireDeployment(store: CodeDeployStore, id: unknown): DeploymentRecord {
  if (id === undefined || id === '')
    throw err('DeploymentIdRequiredException', 'At least one deployment ID must be specified.');
  if (typeof id !== 'string' || !DEPLOYMENT_ID.test(id))
    throw err(
      'InvalidDeploymentIdException',
      `The deployment ID '${String(id)}' is not valid: it looks like d-XXXXXXXXX (9 upper-case letters or digits).`,
    );
  const d = store.deployments.get(id);
  if (!d)
    throw err(
      'DeploymentDoesNotExistException',
      `The deployment ${id} does not exist with the user or AWS account.`,
    );
  return d;
}

export function requireConfigName(store: CodeDeployStore, name: unknown) {
  if (name === undefined || name === '')
    throw err(
      'DeploymentConfigNameRequiredException',
      'The deployment configuration name was not specified.',
    );
  if (typeof name !== 'string' || !/^[A-Za-z0-9._+=,@-]{1,100}$/.test(name))
    throw err(
      'InvalidDeploymentConfigNameException',
      `The deployment configuration name '${String(name)}' is invalid.`,
    );
  const config = store.configs.get(name);
  if (!config)
    throw err(
      'DeploymentConfigDoesNotExistException',
      `The deployment configuration ${name} does not exist with the user or AWS account.`,
    );
  return config;
}

/** Simple opaque paging over a list (the token is the next index). */
export function page<T>(items: T[], nextToken: unknown, size = 100): { items: T[]; nextToken?: string } {
  let start = 0;
  if (nextToken !== undefined) {
    start = Number(Buffer.from(String(nextToken), 'base64url').toString());
    if (!Number.isInteger(start) || start < 0 || start > items.length)
      throw err('InvalidNextTokenException', 'The next token was specified in an invalid format.');
  }
  const slice = items.slice(start, start + size);
  return start + size < items.length
    ? { items: slice, nextToken: Buffer.from(String(start + size)).toString('base64url') }
    : { items: slice };
}
