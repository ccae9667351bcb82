import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport, PolicyViolation } from 'aws-cdk-lib';
import { assertRuleFilesParse, runCfnGuard } from './cfn-guard-run';
import { asError } from './every-finding-fails';
import { failsClosed } from './fails-closed';
import { mayApply, type RuleFileScope, ruleFileScope, templateFacts } from './rule-file-scope';
import { fileFingerprint, fingerprint, TEMPLATE_PLACEHOLDER, type VerdictCache, violationsAt } from './verdict-cache';

/** Bump when lib/validation/rule-file-scope.ts reads rule files differently: cached verdicts made with the old reading are then misses. */
const RULE_FILE_SCOPE_READING = 2;

const LIBRARY_DIRECTORY = path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json'));
const LIBRARY_VERSION: string = JSON.parse(fs.readFileSync(path.join(LIBRARY_DIRECTORY, 'package.json'), 'utf8')).version;

/** The Control Tower proactive-control rules that ship with @cdklabs/cdk-validator-cfnguard. */
export const CONTROL_TOWER_RULES_DIRECTORY = path.join(LIBRARY_DIRECTORY, 'rules', 'control-tower', 'cfn-guard');

/** Every `.guard` file under `directory` (recursively), sorted, so the rule set is the same on every machine. */
export function guardRuleFiles(directory: string): string[] {
  if (!fs.existsSync(directory)) return [];
  return fs
    .readdirSync(directory, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.guard'))
    .map((name) => path.join(directory, name))
    .sort();
}

/** The rule id of a rule file as exemptions and cdk-validator-cfnguard's `disabledRules` name it: the file name without `.guard`. */
export function ruleFileId(ruleFile: string): string {
  return path.basename(ruleFile, '.guard');
}

/**
 * The cfn-guard binary that @cdklabs/cdk-validator-cfnguard ships for this
 * machine (bin/<ubuntu|macos>/<x86_64|aarch64>/cfn-guard, the library's layout),
 * for running `cfn-guard test` on the project's rules.
 */
export function cfnGuardBinary(): string {
  const platform = { linux: 'ubuntu', darwin: 'macos' }[os.platform() as string];
  const architecture = { x64: 'x86_64', arm64: 'aarch64' }[os.arch() as string];
  const binary = platform && architecture ? path.join(LIBRARY_DIRECTORY, 'bin', platform, architecture, 'cfn-guard') : undefined;
  if (!binary || !fs.existsSync(binary)) {
    throw new Error(`@cdklabs/cdk-validator-cfnguard@${LIBRARY_VERSION} ships no cfn-guard binary for ${os.platform()}/${os.arch()} (looked for ${binary ?? 'a supported platform'})`);
  }
  return binary;
}

let guardIdentity: string | undefined;
/**
 * What identifies the cfn-guard engine: the library's version (its parsing of
 * cfn-guard's output), the bundled binary's version file, and the bytes of
 * every binary it ships. The binaries are hashed rather than located, so this
 * stays right if the library moves them.
 */
function cfnGuardIdentity(): string {
  if (guardIdentity === undefined) {
    const binDirectory = path.join(LIBRARY_DIRECTORY, 'bin');
    const binaries = fs.existsSync(binDirectory)
      ? fs
          .readdirSync(binDirectory, { recursive: true, encoding: 'utf8' })
          .filter((name) => path.basename(name) === 'cfn-guard' && name.includes(`${os.platform() === 'darwin' ? 'macos' : 'ubuntu'}`))
          .sort()
      : [];
    const versionFile = path.join(LIBRARY_DIRECTORY, 'guard-version.json');
    guardIdentity = fingerprint(
      `@cdklabs/cdk-validator-cfnguard@${LIBRARY_VERSION}`,
      fs.existsSync(versionFile) ? fs.readFileSync(versionFile) : 'no guard-version.json',
      ...binaries.flatMap((name) => [name, fileFingerprint(path.join(binDirectory, name))]),
    );
  }
  return guardIdentity;
}

/**
 * Properties of a CfnGuardPlugin.
 */
export interface CfnGuardPluginProps {
  /**
   * The plugin's name in the validation report, and the namespace of its
   * acknowledgements: `acknowledge(scope, ['<name>::<rule name>'], reason)`.
   */
  readonly name: string;
  /** The Guard rule files; each runs on every template of every synth. */
  readonly ruleFiles: readonly string[];
  /**
   * Rule files left out, by id (file name without `.guard`), each with its reason.
   *
   * @default - none
   */
  readonly exemptions?: Readonly<Record<string, string>>;
  /**
   * Where a rule's documentation is, shown with each finding.
   *
   * @default - the library's description of its Control Tower rules
   */
  readonly documentationUrl?: string;
  /**
   * Verdicts per template content are kept here and reused.
   *
   * @default - no cache: every template is validated on every synth
   */
  readonly cache?: VerdictCache;
  /**
   * How many cfn-guard processes run at once.
   *
   * @default - one per CPU
   */
  readonly concurrency?: number;
}

/**
 * A validation plugin that runs cfn-guard rules on every stack template and
 * concludes `failure` whenever a finding is left: every violation carries
 * severity `error`, so the conclusion stays `failure` after aws-cdk-lib has
 * removed the acknowledged ones (it recomputes success from the severities that
 * are left, and counts a violation without a severity as passing).
 *
 * cfn-guard runs through @cdklabs/cdk-validator-cfnguard's public
 * `CfnGuardValidator.validate()`, spread over the CPUs, and a template whose
 * bytes, rules and engine are unchanged takes its findings from the cache
 * instead. On each template it runs only the rule files that can report on it
 * (lib/validation/rule-file-scope.ts: a Control Tower file that selects only
 * resource types the template does not have can only be SKIP there); a file
 * that reading cannot account for runs on every template, and every active
 * file must still parse (assertRulesParse), whether it runs or not. The cache holds findings before acknowledgement, and
 * aws-cdk-lib applies the acknowledgements of the current synth to them, so no
 * acknowledgement, template or rule change can be answered by a stale verdict.
 */
export class CfnGuardPlugin implements IPolicyValidationPlugin {
  public readonly name: string;
  public readonly version = LIBRARY_VERSION;
  public readonly ruleIds: string[];
  /** The rule files that run (those not exempted). */
  public readonly activeRuleFiles: readonly string[];
  /** What each active rule file can report on (lib/validation/rule-file-scope.ts): a file runs only on templates it can report on. */
  public readonly scopes: ReadonlyMap<string, RuleFileScope>;
  private readonly ruleSetIdentity: string;

  constructor(private readonly props: CfnGuardPluginProps) {
    this.name = props.name;
    const exemptions = props.exemptions ?? {};
    const known = new Set(props.ruleFiles.map(ruleFileId));
    const unknown = Object.keys(exemptions).filter((id) => !known.has(id));
    if (unknown.length > 0) {
      throw new Error(`${props.name}: exemptions name rules that do not exist: ${unknown.join(', ')} (use the rule file name without .guard)`);
    }
    this.activeRuleFiles = props.ruleFiles.filter((file) => !(ruleFileId(file) in exemptions));
    this.ruleIds = this.activeRuleFiles.map(ruleFileId);
    const texts = this.activeRuleFiles.map((file) => fs.readFileSync(file));
    this.scopes = new Map(this.activeRuleFiles.map((file, i) => [file, ruleFileScope(texts[i].toString('utf8'))]));
    // The scope reading is part of the key: a verdict made when it read a file differently is not reused.
    this.ruleSetIdentity = fingerprint(`rule-file-scope-${RULE_FILE_SCOPE_READING}`, ...this.activeRuleFiles.flatMap((file, i) => [ruleFileId(file), texts[i]]));
  }

  /** The active rule files that can report anything on a template with this text; the others could only be SKIP. */
  public ruleFilesFor(templateText: string): string[] {
    const facts = templateFacts(templateText);
    return this.activeRuleFiles.filter((file) => mayApply(this.scopes.get(file)!, facts));
  }

  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    return failsClosed(`cfn-guard (${this.name})`, context, () => this.validateTemplates(context));
  }

  private validateTemplates(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const cache = this.props.cache;
    const violationsByTemplate = new Map<string, PolicyViolation[]>();
    const toValidate: { templatePath: string; key: string; ruleFiles: string[] }[] = [];
    for (const templatePath of context.templatePaths) {
      const template = fs.readFileSync(templatePath);
      const key = fingerprint('cfn-guard', this.name, cfnGuardIdentity(), this.ruleSetIdentity, template);
      const cached = cache?.read<PolicyViolation[]>(this.name, key);
      if (cached) violationsByTemplate.set(templatePath, violationsAt(cached, templatePath));
      else toValidate.push({ templatePath, key, ruleFiles: this.ruleFilesFor(template.toString('utf8')) });
    }
    if (toValidate.length > 0) {
      this.assertRulesParse();
      const ruleFilesOf = new Map(toValidate.map((t) => [t.templatePath, t.ruleFiles]));
      const found = runCfnGuard(
        toValidate.map((t) => t.templatePath),
        (templatePath) => ruleFilesOf.get(templatePath)!,
        this.props.concurrency,
      );
      for (const { templatePath, key } of toValidate) {
        const violations = (found.get(templatePath) ?? []).map((v) => asError(this.withDocumentation(v)));
        cache?.write(this.name, key, violationsAt(violations, TEMPLATE_PLACEHOLDER));
        violationsByTemplate.set(templatePath, violations);
      }
    }
    const violations = context.templatePaths.flatMap((t) => violationsByTemplate.get(t)!);
    return {
      success: violations.length === 0,
      violations,
      metadata: {
        templates: String(context.templatePaths.length),
        validated: String(toValidate.length),
        fromCache: String(context.templatePaths.length - toValidate.length),
        // Rule files left out because they could only be SKIP there (none of the resource types they select), summed over the templates validated.
        ruleFilesRun: String(toValidate.reduce((sum, t) => sum + t.ruleFiles.length, 0)),
        ruleFilesSkipped: String(toValidate.reduce((sum, t) => sum + this.activeRuleFiles.length - t.ruleFiles.length, 0)),
      },
    };
  }

  /** Once per rule set and engine (remembered in the cache): a rule file cfn-guard cannot parse would pass every template. */
  private assertRulesParse(): void {
    const key = fingerprint('cfn-guard-rules-parse', this.name, cfnGuardIdentity(), this.ruleSetIdentity);
    // Kept apart from the per-template verdicts (own validator name), which count one entry per template checked.
    const validator = `${this.name}-rules-parse`;
    if (this.props.cache?.read<boolean>(validator, key) === true) return;
    assertRuleFilesParse(cfnGuardBinary(), this.activeRuleFiles);
    this.props.cache?.write(validator, key, true);
  }

  private withDocumentation(violation: PolicyViolation): PolicyViolation {
    const documentationUrl = this.props.documentationUrl;
    return documentationUrl ? { ...violation, ruleMetadata: { ...violation.ruleMetadata, DocumentationUrl: documentationUrl } } : violation;
  }

}
