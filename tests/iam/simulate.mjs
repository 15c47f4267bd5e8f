// Evaluates requests against identity policies with @cloud-copilot/iam-simulate (AWS's policy
// evaluation logic: explicit deny, allow, implicit deny; condition operators; ARN matching).
// Called by tests/iam/check.py. Reads JSON on stdin:
//   {"policySets": {"<id>": [{"name": ..., "policy": {...}}, ...]},
//    "requests": [{"set": "<id>", "principal": ARN, "action": "svc:Op", "resource": ARN,
//                  "account": "123456789012", "context": {...}}, ...]}
// and writes, one per request, in order:
//   [{"decision": "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied" | "Error",
//     "allow": [[policy name, statement Sid or 1-based index], ...], "deny": [...],
//     "errors": ...}]
import { runSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'))

const statements = (list) => (list || []).map((s) => [s.policyId, s.explain?.identifier ?? ''])
const out = []
for (const request of input.requests) {
  const response = await runSimulation(
    {
      identityPolicies: input.policySets[request.set],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        principal: request.principal,
        action: request.action,
        resource: { resource: request.resource, accountId: request.account },
        contextVariables: request.context || {}
      }
    },
    {}
  )
  if (response.resultType !== 'single') {
    out.push({ decision: 'Error', allow: [], deny: [], errors: response.errors ?? response.resultType })
    continue
  }
  const identity = response.result.analysis?.identityAnalysis
  out.push({
    decision: response.overallResult,
    allow: statements(identity?.allowStatements),
    deny: statements(identity?.denyStatements)
  })
}
process.stdout.write(JSON.stringify(out))
