// A pure model of how the kernel classifies frames through the agent's TC programs: the
// second oracle next to the reference evaluator (test/reference/k8s-reference.ts). It runs
// frames through COMPILED filters, so it checks the compiler, not the policy semantics.
export { cidrContains, parseCidr, parseIp, type Cidr, type IpAddress, type IpFamily } from './ip.js';
export {
  frameProtocol,
  reverseFrame,
  type Encapsulation,
  type Frame,
  type IpFrame,
  type MacAddresses,
  type NonIpFrame,
  type Segment,
} from './packet.js';
export { ctBits, formatCtBits, parseCtState, type CtBits } from './ct-state.js';
export { matches } from './flower.js';
export {
  acrossHooks,
  applyCt,
  ctFlagsOf,
  newConntrackTable,
  skbOf,
  type ConntrackTable,
  type CtInfo,
  type Skb,
} from './conntrack.js';
export { MAX_GOTO, runHook, type ActionTaken, type HookRun, type Step, type Verdict as HookVerdict } from './classify.js';
export { describeModelError, type ModelError } from './model-error.js';
export { checkProgram, filterProblem } from './program-check.js';
export {
  checkNeighbourDiscovery,
  checkNeighbourDiscoveryAlong,
  decideConnection,
  decideConnectionAlong,
  deliver,
  deliverAlong,
  portPath,
  portRoute,
  type Connection,
  type ConnectionDecision,
  type Delivery,
  type ExchangeStep,
  type FrameRole,
  type Hop,
  type HopRun,
  type NeighbourCheck,
  type NeighbourEnds,
  type Program,
  type Route,
  type Side,
} from './probe.js';
export { blockPath, blockRoute, type BlockPort, type BlockSwitch } from './block-route.js';
export { describeFrame, describeHookRun, describeHopRun, describeStep } from './trace-text.js';
