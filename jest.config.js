// One jest run over every workspace: one summary line for the whole repository.
const fs = require('node:fs');
const path = require('node:path');

const projects = ['packages', 'services']
  .flatMap((group) => {
    const dir = path.join(__dirname, group);
    return fs.existsSync(dir) ? fs.readdirSync(dir).map((name) => path.join(dir, name)) : [];
  })
  .filter((dir) => fs.existsSync(path.join(dir, 'jest.config.js')));

// testTimeout is a global option: set in a project's config (jest.base.js) jest ignores it.
module.exports = { projects, testTimeout: 30000 };
