// Photos are made small on the phone before they are queued: less storage, less to send on a weak signal.

async function decode(file) {
  if (typeof createImageBitmap === 'function') {
    try {
      // 'from-image' applies the EXIF orientation where supported.
      return await createImageBitmap(file, { imageOrientation: 'from-image' })
    } catch { /* old WebKit: fall back to <img> */ }
  }
  const url = URL.createObjectURL(file)
  try {
    const img = new Image()
    img.src = url
    await new Promise((resolve, reject) => {
      img.onload = resolve
      img.onerror = () => reject(new Error('无法读取该图片'))
    })
    return img
  } finally {
    URL.revokeObjectURL(url)
  }
}

/**
 * Downscale a photo to a JPEG whose longest side is at most `maxSide` pixels (never upscaled).
 * @param {Blob} file the picked or captured image
 * @param {{maxSide?: number, quality?: number}} [opts]
 * @returns {Promise<Blob>} image/jpeg
 */
export async function downscale(file, { maxSide = 1600, quality = 0.8 } = {}) {
  const image = await decode(file)
  const w0 = image.width || image.naturalWidth
  const h0 = image.height || image.naturalHeight
  const scale = Math.min(1, maxSide / Math.max(w0, h0))
  const w = Math.max(1, Math.round(w0 * scale))
  const h = Math.max(1, Math.round(h0 * scale))
  const canvas = document.createElement('canvas')
  canvas.width = w
  canvas.height = h
  const ctx = canvas.getContext('2d')
  ctx.fillStyle = '#fff' // transparent PNGs become white, not black
  ctx.fillRect(0, 0, w, h)
  ctx.drawImage(image, 0, 0, w, h)
  if (typeof image.close === 'function') image.close()
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality))
  if (!blob) throw new Error('图片压缩失败')
  return blob
}
