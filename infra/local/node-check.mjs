// Runs before the project's Node scripts, in plain JavaScript, so that an older Node (a new
// terminal without the PATH that points at Node 24) says what is wrong instead of failing on
// a `.ts` file.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `Node 24 or newer is needed; this terminal runs Node ${process.versions.node}.\n` +
      'Put Node 24 first on PATH in this terminal too, for example:\n' +
      '  export PATH="$PWD/.tools/node_modules/node/bin:$PATH"   (after npm install --prefix .tools --no-save)\n' +
      'or nvm use 24 / fnm use 24 (the project has an .nvmrc).',
  );
  process.exit(1);
}
