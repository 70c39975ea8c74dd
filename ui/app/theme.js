// Light/dark: follows the system unless the user picked one (stored in localStorage).
const KEY = 'vireo.theme';

export function applyTheme() {
    const t = localStorage.getItem(KEY);
    if (t === 'light' || t === 'dark') document.documentElement.dataset.theme = t;
    else delete document.documentElement.dataset.theme;
}

export function effectiveTheme() {
    const t = document.documentElement.dataset.theme;
    if (t) return t;
    return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function toggleTheme() {
    localStorage.setItem(KEY, effectiveTheme() === 'dark' ? 'light' : 'dark');
    applyTheme();
    window.dispatchEvent(new CustomEvent('vireo:theme'));
}
