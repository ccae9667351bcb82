/**
 * `npm run github-settings -- [--check | --apply] [--gate-app-id <id>]`: the
 * repository settings the pipeline relies on, checked (and with --apply, set)
 * through the GitHub REST API.
 *
 * Wiring only: the logic and its tests live in lib/github-settings/.
 */
import { exitWith, githubClient } from '../lib/github-cli';
import { loadConfig } from '../lib/config';
import { GATE_CHECK_NAME } from '../lib/diff-report/gate';
import { runSettingsCli } from '../lib/github-settings/cli';
import { desiredSettings } from '../lib/github-settings/desired';

exitWith(
  runSettingsCli(process.argv.slice(2), {
    environment: process.env,
    desired: desiredSettings(loadConfig().project.github, GATE_CHECK_NAME),
    github: (token) => githubClient(token, 'bodyscript-github-settings'),
    stdout: (text) => process.stdout.write(text),
    stderr: (line) => console.error(line),
  }),
);
