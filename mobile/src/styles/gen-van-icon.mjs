// node src/styles/gen-van-icon.mjs > src/styles/van-icon.css
// 24x24 stroked line icons (drawn here, no outside font) → CSS masks on .van-icon-<name>:before
const S = (d) => `<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' fill='none' stroke='black' stroke-width='2.2' stroke-linecap='round' stroke-linejoin='round'>${d}</svg>`
const F = (d) => `<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24'>${d}</svg>`
const icons = {
  arrow: S("<path d='M9 5l7 7-7 7'/>"),
  'arrow-left': S("<path d='M15 5l-7 7 7 7'/>"),
  'arrow-up': S("<path d='M5 15l7-7 7 7'/>"),
  'arrow-down': S("<path d='M5 9l7 7 7-7'/>"),
  success: S("<path d='M4 12.5l5 5L20 6.5'/>"),
  cross: S("<path d='M6 6l12 12M18 6L6 18'/>"),
  close: S("<path d='M6 6l12 12M18 6L6 18'/>"),
  clear: F("<path fill='black' fill-rule='evenodd' d='M12 2a10 10 0 110 20 10 10 0 010-20zm-3.3 5.3L7.3 8.7 10.6 12l-3.3 3.3 1.4 1.4L12 13.4l3.3 3.3 1.4-1.4L13.4 12l3.3-3.3-1.4-1.4L12 10.6z'/>"),
  fail: S("<circle cx='12' cy='12' r='9'/><path d='M12 7v6M12 16.5v.5'/>"),
  passed: S("<circle cx='12' cy='12' r='9'/><path d='M7.5 12l3 3 6-6'/>"),
  checked: F("<path fill='black' fill-rule='evenodd' d='M12 2a10 10 0 110 20 10 10 0 010-20zm4.3 6.3L10.5 14l-2.8-2.8-1.4 1.4 4.2 4.2 7.2-7.1z'/>"),
  search: S("<circle cx='10.5' cy='10.5' r='6.5'/><path d='M15.5 15.5L20 20'/>"),
  photograph: S("<path d='M3 8h4l2-3h6l2 3h4v11H3z'/><circle cx='12' cy='13' r='3.5'/>"),
  photo: S("<rect x='3' y='4' width='18' height='16' rx='2'/><circle cx='9' cy='10' r='2'/><path d='M21 16l-5-5-9 9'/>"),
  'photo-fail': S("<rect x='3' y='4' width='18' height='16' rx='2'/><path d='M9 9l6 6M15 9l-6 6'/>"),
  description: S("<path d='M6 3h9l4 4v14H6z'/><path d='M9 12h7M9 16h7'/>"),
  info: S("<circle cx='12' cy='12' r='9'/><path d='M12 11v6M12 7.5v.5'/>"),
  'warning-o': S("<path d='M12 3L2 20h20z'/><path d='M12 10v4M12 17v.5'/>"),
  'wap-home-o': S("<path d='M3 11l9-7 9 7v9H3z'/><path d='M10 20v-5h4v5'/>"),
  upgrade: S("<path d='M12 16V4M7 9l5-5 5 5'/><path d='M4 15v5h16v-5'/>"),
  'user-o': S("<circle cx='12' cy='8' r='4'/><path d='M4 21c1-4.5 4.5-6 8-6s7 1.5 8 6'/>"),
  'medal-o': S("<circle cx='12' cy='14' r='6'/><path d='M8 3l2.5 5M16 3l-2.5 5M10 14l1.5 1.5 3-3'/>"),
  'chart-trending-o': S("<path d='M3 3v18h18'/><path d='M7 15l4-4 3 3 6-6'/>"),
  bell: S("<path d='M6 16V11a6 6 0 0112 0v5l2 2H4z'/><path d='M10 20.5a2 2 0 004 0'/>"),
  'comment-o': S("<path d='M4 5h16v11H9l-5 4z'/>"),
  'shield-o': S("<path d='M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z'/><path d='M8.5 12l2.5 2.5 4.5-4.5'/>"),
  'todo-list-o': S("<rect x='4' y='3' width='16' height='18' rx='2'/><path d='M8 9l1.5 1.5L12 8M8 15l1.5 1.5L12 14M14 9h3M14 15h3'/>"),
  eye: S("<path d='M2 12s4-7 10-7 10 7 10 7-4 7-10 7S2 12 2 12z'/><circle cx='12' cy='12' r='3'/>"),
  qr: S("<rect x='3' y='3' width='7' height='7'/><rect x='14' y='3' width='7' height='7'/><rect x='3' y='14' width='7' height='7'/><path d='M14 14h3v3h-3zM20 14v.5M14 20h.5M17 17h3v3h-3z'/>"),
  signal: S("<path d='M2 8.5a15 15 0 0120 0M5.5 12a10 10 0 0113 0M9 15.5a5 5 0 016 0'/><path d='M12 19v.5'/>"),
}
let css = `/* Vant's icon glyphs without its icon font (Vant ships a base64 font with a CDN fallback): each
   icon is a small inline SVG used as a CSS mask, so it takes the text colour. Generated; names as Vant's. */
.van-icon{position:relative;display:inline-block;font-size:inherit;line-height:1;width:1em;height:1em;vertical-align:-0.125em}
.van-icon:before{content:'';display:block;width:1em;height:1em;background:currentColor;-webkit-mask:var(--cx-icon) center/contain no-repeat;mask:var(--cx-icon) center/contain no-repeat}
.van-icon__image{display:block;width:1em;height:1em;object-fit:contain}
`
for (const [name, svg] of Object.entries(icons)) {
  const uri = 'data:image/svg+xml,' + encodeURIComponent(svg).replace(/%20/g, ' ').replace(/%3D/g, '=').replace(/%3A/g, ':').replace(/%2F/g, '/').replace(/%27/g, "'")
  css += `.van-icon-${name}{--cx-icon:url("${uri}")}\n`
}
process.stdout.write(css)
