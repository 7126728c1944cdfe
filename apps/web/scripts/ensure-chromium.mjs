// The browser tests drive the system's Chromium and never download one (Playwright's own
// builds are not fetched). This makes sure it is there before they start: CHROMIUM_PATH or
// /usr/bin/chromium when present; otherwise Debian's `chromium` package, installed with
// apt-get when this process may (root, or sudo without a password). Anything else stops the
// tests with what to install: they are never skipped for want of a browser.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

const DEFAULT_PATH = '/usr/bin/chromium';

const runnable = (path) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

const succeeds = (command, args) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

function fail(message) {
  console.error(`Cannot run the browser tests: ${message}`);
  process.exit(1);
}

const chosen = process.env.CHROMIUM_PATH;
if (chosen) {
  if (!runnable(chosen)) fail(`CHROMIUM_PATH is ${chosen}, which is not an executable file.`);
  process.exit(0);
}
if (runnable(DEFAULT_PATH)) process.exit(0);

const howTo =
  `install Chromium at ${DEFAULT_PATH} (on Debian or Ubuntu: apt-get install chromium), ` +
  'or set CHROMIUM_PATH to a Chromium or Chrome executable.';
if (!succeeds('apt-get', ['--version'])) fail(`no ${DEFAULT_PATH} and no apt-get here: ${howTo}`);
const asRoot = process.getuid?.() === 0;
// -n: never ask for a password; a sudo that would is as good as none here.
if (!asRoot && !succeeds('sudo', ['-n', 'true']))
  fail(`no ${DEFAULT_PATH}, and installing it needs root (or sudo without a password): ${howTo}`);

console.log(`No ${DEFAULT_PATH}: installing Debian's chromium package with apt-get…`);
for (const step of [
  ['apt-get', 'update', '-qq'],
  ['apt-get', 'install', '-y', '-qq', 'chromium'],
]) {
  const args = ['env', 'DEBIAN_FRONTEND=noninteractive', ...step];
  const { status, error } = asRoot
    ? spawnSync(args[0], args.slice(1), { stdio: 'inherit' })
    : spawnSync('sudo', ['-n', ...args], { stdio: 'inherit' });
  if (status !== 0)
    fail(`\`${step.join(' ')}\` failed (${error?.message ?? `exit ${status}`}): ${howTo}`);
}
if (!runnable(DEFAULT_PATH))
  fail(`the chromium package installed, but there is no ${DEFAULT_PATH}: ${howTo}`);
