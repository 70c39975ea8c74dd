import { h } from '../dom.js';
export function mount(container, target) { container.append(h('p', null, `todo ${target.key}`)); return { update() {}, dispose() {} }; }
