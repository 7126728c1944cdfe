// The browser tests drive the system's Chromium and never download one (Playwright's own
// builds are not fetched). This makes sure it is there before they start: CHROMIUM_PATH or
// /usr/bin/chromium when present; otherwise, when running as root on Debian (a CI container,
// a fresh machine), Debian's `chromium` package, installed with apt-get. Anywhere else it
// stops the tests with the command to run or the variable to set: a test command never runs
// sudo on a developer's machine, and the tests are never skipped for want of a browser.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';

const DEFAULT_PATH = '/usr/bin/chromium';
const SET_PATH = 'set CHROMIUM_PATH to a Chromium or Chrome executable';

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

const osRelease = (() => {
  try {
    return readFileSync('/etc/os-release', 'utf8');
  } catch {
    return '';
  }
})();
// Ubuntu (and what is built on it) has apt-get too, but its chromium package is only a
// wrapper that installs the snap, so installing it would not give the tests a browser.
if (/^ID(_LIKE)?=.*\bubuntu\b/m.test(osRelease))
  fail(
    `no ${DEFAULT_PATH}, and Ubuntu's chromium package only installs the snap: ${SET_PATH} ` +
      "(Google Chrome's .deb installs /usr/bin/google-chrome).",
  );
if (!succeeds('apt-get', ['--version']))
  fail(`no ${DEFAULT_PATH}: install Chromium there, or ${SET_PATH}.`);

const install = ['apt-get', 'install', '-y', '-qq', '-o', 'DPkg::Lock::Timeout=120', 'chromium'];
const asRoot = process.getuid?.() === 0;
const sudo = asRoot ? '' : 'sudo ';
const howTo = `run \`${sudo}apt-get update && ${sudo}${install.join(' ')}\`, or ${SET_PATH}.`;
if (!asRoot)
  fail(`no ${DEFAULT_PATH}, and the tests install it themselves only when run as root: ${howTo}`);

console.log(`No ${DEFAULT_PATH}: installing Debian's chromium package with apt-get…`);
// Another apt-get (unattended upgrades, a second checkout's tests) may hold dpkg's lock for a
// while: the install waits for it rather than failing at once.
for (const step of [['apt-get', 'update', '-qq'], install]) {
  const { status, error } = spawnSync('env', ['DEBIAN_FRONTEND=noninteractive', ...step], {
    stdio: 'inherit',
  });
  if (status !== 0)
    fail(`\`${step.join(' ')}\` failed (${error?.message ?? `exit ${status}`}): ${howTo}`);
}
if (!runnable(DEFAULT_PATH))
  fail(`the chromium package installed, but there is no ${DEFAULT_PATH}: ${SET_PATH}.`);
