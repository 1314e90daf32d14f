/**
 * What a listener may be set to (aws-semantics 4.6): HTTP or HTTPS (kept and described; the data plane serves
 * HTTP), certificates and SSL policy for HTTPS, and exactly one terminal action — forward (to target groups no
 * other load balancer uses), redirect or fixed-response.
 */
import type { Certificate, ProtocolEnum } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ServiceError } from '../protocol/errors.ts';
import type { Validated } from '../types.ts';
import { targetGroupNotFound, validation } from './errors.ts';
import { type Action, type Elbv2Store, forwardedArns, type LoadBalancerRecord } from './store.ts';

/** What CreateListener uses for HTTPS when no SslPolicy is given (ELBv2 API reference). */
export const DEFAULT_SSL_POLICY = 'ELBSecurityPolicy-2016-08';
const CERTIFICATE_ARN =
  /^arn:aws[a-z-]*:(acm:[a-z0-9-]+:\d{12}:certificate\/.+|iam::\d{12}:server-certificate\/.+)$/;

/** A listener's settings as CreateListener takes them, or ModifyListener's merged with the listener's. */
export interface ListenerSpec {
  Protocol?: ProtocolEnum | undefined;
  Port?: number | undefined;
  Certificates?: readonly Validated<Certificate>[] | undefined;
  SslPolicy?: string | undefined;
  DefaultActions: readonly Action[];
}

/** Fills in what AWS echoes back for a forward action: both `TargetGroupArn` (single TG) and `ForwardConfig`. */
export function normalizeAction(action: Action): Action {
  if (action.Type !== 'forward') return structuredClone(action);
  const out: Action = structuredClone(action);
  const groups =
    action.ForwardConfig?.TargetGroups ??
    (action.TargetGroupArn ? [{ TargetGroupArn: action.TargetGroupArn }] : []);
  out.ForwardConfig = {
    ...action.ForwardConfig,
    TargetGroups: groups.map((g) => ({ TargetGroupArn: g.TargetGroupArn, Weight: g.Weight ?? 1 })),
    TargetGroupStickinessConfig: action.ForwardConfig?.TargetGroupStickinessConfig ?? { Enabled: false },
  };
  if (!out.TargetGroupArn && groups.length === 1) out.TargetGroupArn = groups[0]?.TargetGroupArn;
  return out;
}

/** The certificates as stored and described: each with its ARN ('' when the caller gave none). */
export function certificatesOf(certs: readonly Certificate[] | undefined): { CertificateArn: string }[] {
  return (certs ?? []).map((c) => ({ CertificateArn: c.CertificateArn ?? '' }));
}

function checkForward(store: Elbv2Store, lb: LoadBalancerRecord, action: Action): void {
  const arns = forwardedArns(action);
  if (arns.length === 0) {
    throw validation('A forward action needs a TargetGroupArn or ForwardConfig.TargetGroups');
  }
  const configured = action.ForwardConfig?.TargetGroups ?? [];
  if (action.TargetGroupArn && configured.length > 0) {
    if (configured.length !== 1 || configured[0]?.TargetGroupArn !== action.TargetGroupArn) {
      throw validation(
        'TargetGroupArn and ForwardConfig of a forward action must name the same single target group; give only one of them',
      );
    }
  }
  for (const g of configured) {
    if (!g.TargetGroupArn) throw validation('ForwardConfig.TargetGroups: each entry needs a TargetGroupArn');
    if (g.Weight !== undefined && (g.Weight < 0 || g.Weight > 999)) {
      throw validation(`Target group weight ${g.Weight} must be between 0 and 999`);
    }
  }
  for (const arn of arns) {
    const tg = store.targetGroups.get(arn);
    if (!tg) throw targetGroupNotFound(`'${arn}'`);
    const others = store.loadBalancerArnsOf(arn).filter((a) => a !== lb.arn);
    if (others.length > 0) {
      // An ALB target group can be used by only one load balancer (aws-semantics 4.6).
      throw new ServiceError(
        'TargetGroupAssociationLimit',
        `The following target groups cannot be associated with more than one load balancer: ${arn}`,
      );
    }
  }
}

function checkTls(spec: ListenerSpec): void {
  // Kept and described as on AWS; the data plane serves HTTP listeners only (no TLS locally).
  const cert = spec.Certificates?.[0]?.CertificateArn;
  if (!cert) throw validation('A certificate must be specified for HTTPS listeners');
  for (const c of spec.Certificates ?? []) {
    if (!c.CertificateArn || !CERTIFICATE_ARN.test(c.CertificateArn)) {
      throw new ServiceError(
        'CertificateNotFound',
        `Certificate '${c.CertificateArn ?? ''}' not found: expected an ACM (arn:aws:acm:<region>:<account>:certificate/<id>) or IAM server certificate ARN`,
      );
    }
  }
  if (spec.SslPolicy !== undefined && !spec.SslPolicy.startsWith('ELBSecurityPolicy-')) {
    throw new ServiceError(
      'SSLPolicyNotFound',
      `SSL policy '${spec.SslPolicy}' not found; use a predefined policy such as ${DEFAULT_SSL_POLICY}`,
    );
  }
}

/**
 * Checks listener protocol, port, certificates and actions; returns the normalized actions.
 *
 * @example
 * const actions = checkListener(store, lb, { Protocol: 'HTTP', Port: 80, DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }] });
 */
export function checkListener(store: Elbv2Store, lb: LoadBalancerRecord, spec: ListenerSpec): Action[] {
  if (!spec.Protocol) throw validation('A listener protocol must be specified (HTTP for the sandbox)');
  if (spec.Protocol !== 'HTTP' && spec.Protocol !== 'HTTPS') {
    throw new ServiceError(
      'UnsupportedProtocol',
      `Protocol '${spec.Protocol}' is not supported for load balancers of type 'application'; use HTTP or HTTPS`,
    );
  }
  if (spec.Port === undefined) throw validation('A listener port must be specified');
  if (spec.Protocol === 'HTTPS') checkTls(spec);
  if (spec.DefaultActions.length === 0) throw validation('DefaultActions: at least one action is required');
  const actions = spec.DefaultActions.map((a) => normalizeAction(a));
  let terminal = 0;
  for (const action of actions) {
    switch (action.Type) {
      case 'forward':
        terminal++;
        checkForward(store, lb, action);
        break;
      case 'redirect':
        terminal++;
        if (!action.RedirectConfig) throw validation('A redirect action needs a RedirectConfig');
        break;
      case 'fixed-response':
        terminal++;
        if (!action.FixedResponseConfig)
          throw validation('A fixed-response action needs a FixedResponseConfig');
        break;
      default:
        throw new ServiceError(
          'InvalidLoadBalancerAction',
          `Action type '${action.Type}' is not emulated by the sandbox; use forward, redirect or fixed-response`,
        );
    }
  }
  if (terminal !== 1) {
    throw new ServiceError(
      'InvalidLoadBalancerAction',
      'A listener needs exactly one forward, redirect or fixed-response action',
    );
  }
  return actions;
}
