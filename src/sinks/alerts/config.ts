/** Config section `sinks.alerts`: rules evaluated on window rows. */
import { z } from 'zod';

const fieldName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a field name: letters, digits, _');
const ruleName = z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, '1-100 of letters, digits, _ . -');

const common = {
  name: ruleName.describe('Unique rule name; part of alert_id. Required.'),
  metric: fieldName.describe('Metric of the window row the rule looks at. Required.'),
  where: z.record(fieldName, z.string()).default({})
    .describe('Only groups whose fields equal these values, e.g. {type: "purchase"}. Default: {} (all groups).'),
};

export const thresholdRuleSchema = z
  .object({
    kind: z.literal('threshold'),
    ...common,
    op: z.enum(['>', '>=', '<', '<=']).describe('Comparison of the metric with `value`. Required.'),
    value: z.number().finite().describe('Threshold. Required.'),
  })
  .strict();

export const changeRuleSchema = z
  .object({
    kind: z.literal('change'),
    ...common,
    mode: z.enum(['absolute', 'relative']).default('relative')
      .describe('absolute: value - previous; relative: (value - previous) / |previous|. Default: relative.'),
    direction: z.enum(['increase', 'decrease', 'any']).default('any')
      .describe('Which direction of change alerts. Default: any.'),
    atLeast: z.number().finite().min(0).describe('Smallest size of change (absolute units, or a ratio: 0.5 = 50%) that alerts. Required.'),
    adjacentOnly: z.boolean().default(true)
      .describe('Compare only with the window that ends where this one starts (tumbling windows). Default: true.'),
  })
  .strict();

export const alertRuleSchema = z.discriminatedUnion('kind', [thresholdRuleSchema, changeRuleSchema]);

export const alertsConfigSchema = z
  .object({
    rules: z.array(alertRuleSchema).default([]).describe('Alert rules. Default: [].'),
    retainedWindows: z.number().int().min(1).max(100_000).default(1_000)
      .describe('Distinct windows remembered to emit each alert once (1-100000). Default: 1000.'),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.rules.forEach((r, i) => {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `duplicate rule name "${r.name}"` });
      seen.add(r.name);
    });
  })
  .describe('Alert engine: threshold and change rules on window rows.');

export type AlertsConfig = z.infer<typeof alertsConfigSchema>;
export type AlertRule = z.infer<typeof alertRuleSchema>;
