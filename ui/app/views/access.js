import { h } from '../dom.js';
export function render(content, { tab }) { content.append(h('p', null, `Access: ${tab} (coming)`)); return null; }
