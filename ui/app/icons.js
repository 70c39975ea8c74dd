// Hand-drawn 16×16 line icons, built as SVG DOM (no icon font, nothing inline-styled).
import { registerIcons } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';

// Each icon is a list of path strings; 'F:' marks a filled shape, otherwise stroked.
const PATHS = {
    datacenter: ['M2 14V5l6-3 6 3v9', 'M5 14V8h6v6', 'M5 11h6'],
    node: ['M2.5 2.5h11v4h-11z', 'M2.5 9.5h11v4h-11z', 'F:M4.5 4a.75.75 0 1 0 0 1.5.75.75 0 0 0 0-1.5z', 'F:M4.5 11a.75.75 0 1 0 0 1.5.75.75 0 0 0 0-1.5z'],
    vm: ['M2 3h12v8H2z', 'M6 14h4', 'M8 11v3'],
    storage: ['M3 4c0-1.1 2.2-2 5-2s5 .9 5 2-2.2 2-5 2-5-.9-5-2z', 'M3 4v8c0 1.1 2.2 2 5 2s5-.9 5-2V4', 'M3 8c0 1.1 2.2 2 5 2s5-.9 5-2'],
    pool: ['M1.5 4.5v8h13v-7H7.5l-1.5-1.5H1.5z'],
    tag: ['M2 2h5.5l6.5 6.5-5.5 5.5L2 7.5z', 'F:M5 4.2a.8.8 0 1 0 0 1.6.8.8 0 0 0 0-1.6z'],
    play: ['F:M4.5 2.5v11l9-5.5z'],
    stop: ['F:M3.5 3.5h9v9h-9z'],
    power: ['M8 1.5V8', 'M4.6 3.6a5.5 5.5 0 1 0 6.8 0'],
    reboot: ['M13 8a5 5 0 1 1-1.5-3.6', 'M13 2v3h-3'],
    pause: ['F:M4 3h3v10H4z', 'F:M9 3h3v10H9z'],
    console: ['M1.5 2.5h13v11h-13z', 'M4 6l2.5 2L4 10', 'M8 10.5h4'],
    snapshot: ['M1.5 5h3l1.5-2h4l1.5 2h3v8h-13z', 'M8 6.5a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5z'],
    trash: ['M2.5 4h11', 'M6 4V2.5h4V4', 'M4 4l.7 9.5h6.6L12 4'],
    plus: ['M8 3v10', 'M3 8h10'],
    edit: ['M10.5 2.5l3 3-8 8H2.5v-3z', 'M9 4l3 3'],
    search: ['M7 2.5a4.5 4.5 0 1 0 0 9 4.5 4.5 0 0 0 0-9z', 'M10.5 10.5l3.5 3.5'],
    sun: ['M8 5a3 3 0 1 0 0 6 3 3 0 0 0 0-6z', 'M8 1v1.5M8 13.5V15M1 8h1.5M13.5 8H15M3 3l1 1M12 12l1 1M3 13l1-1M12 4l1-1'],
    moon: ['M13.5 10A6 6 0 0 1 6 2.5 6 6 0 1 0 13.5 10z'],
    user: ['M8 2a3 3 0 1 0 0 6 3 3 0 0 0 0-6z', 'M2.5 14.5c0-3 2.5-5 5.5-5s5.5 2 5.5 5'],
    group: ['M6 2.5a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5z', 'M1.5 13.5c0-2.5 2-4.5 4.5-4.5s4.5 2 4.5 4.5', 'M11 3a2 2 0 0 1 0 4', 'M12 9c1.5.4 2.5 2 2.5 4'],
    key: ['M5 7.5a3 3 0 1 0 0 .1z', 'M8 8h6.5', 'M12 8v2.5', 'M14 8v2'],
    shield: ['M8 1.5l5.5 2v4c0 3.5-2.5 6-5.5 7-3-1-5.5-3.5-5.5-7v-4z'],
    tasks: ['M5.5 4h8', 'M5.5 8h8', 'M5.5 12h8', 'M2 3.5l1 1 1.5-1.5', 'M2 7.5l1 1 1.5-1.5', 'M2.5 12h1'],
    check: ['M2.5 8.5l3.5 3.5 7.5-8'],
    x: ['M3.5 3.5l9 9', 'M12.5 3.5l-9 9'],
    warning: ['M8 1.8l6.5 12H1.5z', 'M8 6v3.5', 'F:M8 11a.8.8 0 1 0 0 1.6.8.8 0 0 0 0-1.6z'],
    error: ['M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13z', 'M5.5 5.5l5 5', 'M10.5 5.5l-5 5'],
    info: ['M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13z', 'M8 7v4.5', 'F:M8 4a.8.8 0 1 0 0 1.6.8.8 0 0 0 0-1.6z'],
    ok: ['M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13z', 'M5 8.2l2 2 4-4.2'],
    chevron: ['M6 3.5L10.5 8 6 12.5'],
    down: ['M3.5 6L8 10.5 12.5 6'],
    up: ['M3.5 10L8 5.5l4.5 4.5'],
    copy: ['M5.5 5.5h8v8h-8z', 'M10.5 5.5v-3h-8v8h3'],
    upload: ['M8 11V2.5', 'M4.5 6L8 2.5 11.5 6', 'M2.5 11v2.5h11V11'],
    download: ['M8 2.5V11', 'M4.5 7.5L8 11l3.5-3.5', 'M2.5 11v2.5h11V11'],
    network: ['M6 1.5h4v3.5H6z', 'M1.5 11h4v3.5h-4z', 'M10.5 11h4v3.5h-4z', 'M8 5v3M3.5 11V8h9v3'],
    disk: ['M2 4.5h12v7H2z', 'F:M11 7.3a.8.8 0 1 0 0 1.6.8.8 0 0 0 0-1.6z', 'M4 8h4'],
    cpu: ['M4 4h8v8H4z', 'M6.5 6.5h3v3h-3z', 'M6 1.5V4M10 1.5V4M6 12v2.5M10 12v2.5M1.5 6H4M1.5 10H4M12 6h2.5M12 10h2.5'],
    memory: ['M1.5 5h13v6h-13z', 'M4 7.5v1.5M7 7.5v1.5M10 7.5v1.5M13 11v2M3 11v2'],
    cdrom: ['M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13z', 'M8 6.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z'],
    popout: ['M9 2.5h4.5V7', 'M13.5 2.5L7.5 8.5', 'M11 9.5v4H2.5V5h4'],
    keyboard: ['M1.5 4h13v8h-13z', 'M4 6.5h1M7 6.5h1M10 6.5h1M4 9.5h8'],
    refresh: ['M13 8a5 5 0 1 1-1.5-3.6', 'M13 2v3h-3'],
    undo: ['M4.5 6.5H10a3.5 3.5 0 0 1 0 7H6', 'M6.5 3.5l-3 3 3 3'],
    menu: ['M2 4h12M2 8h12M2 12h12'],
    more: ['F:M3 7a1 1 0 1 0 0 2 1 1 0 0 0 0-2z', 'F:M8 7a1 1 0 1 0 0 2 1 1 0 0 0 0-2z', 'F:M13 7a1 1 0 1 0 0 2 1 1 0 0 0 0-2z'],
    logout: ['M6 2.5H2.5v11H6', 'M10 5l3 3-3 3', 'M13 8H6'],
    diagnose: ['M1.5 8h3l1.5-4 3 8 1.5-4h4'],
    options: ['M2 4h6M11 4h3M2 12h3M8 12h6', 'M8 2.5v3h3v-3z', 'M5 10.5v3h3v-3z'],
    hardware: ['M3 3h10v10H3z', 'M6 6h4v4H6z', 'M6 1v2M10 1v2M6 13v2M10 13v2'],
    summary: ['M2 13.5h12', 'M3.5 11V7', 'M7 11V3.5', 'M10.5 11V6', 'M14 11V9'],
    question: ['M6 6a2 2 0 1 1 2.8 1.8C8.3 8 8 8.4 8 9v.5', 'F:M8 11.5a.8.8 0 1 0 0 1.6.8.8 0 0 0 0-1.6z'],
    lock: ['M3.5 7h9v7h-9z', 'M5.5 7V5a2.5 2.5 0 0 1 5 0v2'],
    iso: ['M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13z', 'M8 6.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z', 'M8 3.5a4.5 4.5 0 0 1 4.5 4.5'],
    file: ['M3.5 1.5h6l3 3v10h-9z', 'M9.5 1.5v3h3'],
};

export function icon(name, cls) {
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 16 16');
    svg.setAttribute('class', cls ? `icon ${cls}` : 'icon');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    for (const d of PATHS[name] || PATHS.file) {
        const path = document.createElementNS(NS, 'path');
        if (d.startsWith('F:')) {
            path.setAttribute('d', d.slice(2));
            path.setAttribute('class', 'fill');
        } else {
            path.setAttribute('d', d);
        }
        svg.append(path);
    }
    return svg;
}

registerIcons(icon);
