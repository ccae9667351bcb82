import * as fs from 'node:fs';
import * as path from 'node:path';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { IPolicyValidationContext, PolicyValidationPluginReport } from 'aws-cdk-lib';

const WORKER_SCRIPT = path.join(__dirname, 'cloudformation-validate-worker.cjs');

/** Longer than any validation of the whole app has taken on a loaded 2-core machine; then something is wrong. */
const TIMEOUT_MS = 30 * 60 * 1000;

type StackTemplate = IPolicyValidationContext['stackTemplates'][number];

type Message =
  | { readonly kind: 'ready'; readonly version: string; readonly ruleIds: string[] }
  | { readonly kind: 'report'; readonly id: number; readonly report: PolicyValidationPluginReport }
  | { readonly kind: 'error'; readonly id?: number; readonly error: string };

/**
 * aws-cdk-lib's CloudFormation validator on a worker thread of its own
 * (lib/validation/cloudformation-validate-worker.cjs), started when this is
 * constructed, so that loading its 9 MB WebAssembly module and building its
 * engine (about 2.5 s of CPU at idle, and the whole warm cost of the gate)
 * happen on the second core while the main thread builds and synthesizes the
 * app. Templates are sent as jobs (`submit`) and their report is collected
 * later (`collect`), waiting synchronously as a validation plugin must.
 * A failure of the thread is an exception of `collect`, never a pass.
 */
export class CloudFormationValidateThread {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  /** How many messages the worker has posted; it wakes this thread on each. */
  private readonly posted = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  private readonly reports = new Map<number, PolicyValidationPluginReport | Error>();
  private ready?: { version: string; ruleIds: string[] };
  private failure?: Error;
  private nextId = 0;
  private closed = false;

  constructor() {
    if (!fs.existsSync(WORKER_SCRIPT)) throw new Error(`CloudFormation validator worker script ${WORKER_SCRIPT} is missing`);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(WORKER_SCRIPT, { workerData: { port: port2, posted: this.posted, prebuild: true }, transferList: [port2] });
    // Never keeps the process alive: a synth that does not need it ends without waiting for it.
    this.worker.unref();
    this.port.unref();
  }

  /** The engine's version and rule ids, as the plugin reports them (waits for the thread to have loaded the engine's package). */
  public identity(): { version: string; ruleIds: string[] } {
    while (!this.ready) this.receive();
    return this.ready;
  }

  /** Sends templates to validate; returns the job's id for `collect`. */
  public submit(stackTemplates: readonly StackTemplate[]): number {
    if (this.closed) throw new Error('the CloudFormation validator thread is closed');
    const id = this.nextId++;
    this.port.postMessage({ id, stackTemplates: stackTemplates.map(({ stackConstructPath, templatePath, accountId, region }) => ({ stackConstructPath, templatePath, accountId, region })) });
    return id;
  }

  /** The report of job `id`: the plugin's own `validate()` on its templates. Throws if the thread failed. */
  public collect(id: number): PolicyValidationPluginReport {
    while (!this.reports.has(id)) this.receive();
    const report = this.reports.get(id)!;
    this.reports.delete(id);
    if (report instanceof Error) throw report;
    return report;
  }

  /** Whether `close` was called: a closed thread takes no more jobs. */
  public get isClosed(): boolean {
    return this.closed;
  }

  /** Stops the thread (what it was doing is dropped). */
  public close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
    void this.worker.terminate();
  }

  /** Takes the next message of the worker, waiting for one; throws once the thread has failed. */
  private receive(): void {
    if (this.failure) throw this.failure;
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      const seen = Atomics.load(this.posted, 0);
      const received = receiveMessageOnPort(this.port)?.message as Message | undefined;
      if (received) {
        this.accept(received);
        return;
      }
      const remaining = deadline - Date.now();
      if (this.closed || remaining <= 0 || Atomics.wait(this.posted, 0, seen, remaining) === 'timed-out') {
        this.failure = new Error(this.closed ? 'the CloudFormation validator thread is closed' : `the CloudFormation validator thread did not answer within ${TIMEOUT_MS / 60000} minutes`);
        throw this.failure;
      }
    }
  }

  private accept(message: Message): void {
    if (message.kind === 'ready') this.ready = { version: message.version, ruleIds: message.ruleIds };
    else if (message.kind === 'report') this.reports.set(message.id, message.report);
    else if (message.id !== undefined) this.reports.set(message.id, new Error(`CloudFormation validator thread: ${message.error}`));
    else {
      this.failure = new Error(`the CloudFormation validator thread could not start: ${message.error}`);
      throw this.failure;
    }
  }
}
