import { h } from '../../dom.js';
export function render(content) { content.append(h('p', null, 'todo')); return null; }
