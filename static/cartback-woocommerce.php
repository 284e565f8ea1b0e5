<?php
/**
 * Plugin Name: Cartback beacon
 * Description: Loads the Cartback cart beacon on the storefront. Set CARTBACK_URL and CARTBACK_KEY below.
 * Version: 1.0
 */
defined('ABSPATH') || exit;
const CARTBACK_URL = 'https://cartback.example.com';  // your Cartback address
const CARTBACK_KEY = 'pk_...';                         // the store's public_key
add_action('wp_enqueue_scripts', function () {
    wp_enqueue_script('cartback-beacon', CARTBACK_URL . '/static/cartback-beacon.js', [], '1.0', ['strategy' => 'defer']);
});
add_filter('script_loader_tag', function ($tag, $handle) {
    return $handle === 'cartback-beacon'
        ? str_replace(' src=', ' data-endpoint="' . esc_attr(CARTBACK_URL . '/collect/' . CARTBACK_KEY) . '" src=', $tag)
        : $tag;
}, 10, 2);
